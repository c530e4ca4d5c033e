#!/usr/bin/env bash
# Finds or installs the pinned buf CLI for scripts/check-proto.sh, and prints its
# absolute path as the LAST line of stdout:
#
#   buf=$(scripts/install-buf.sh | tail -n1)
#
# Lint and breaking rules change between buf releases, so only the exact pinned
# version is used. Order of preference:
#   1. $TARIFF_BUF, if it is an executable buf of exactly the pinned version;
#   2. <repo>/.tools/buf/bin/buf, if it runs and is the pinned version;
#   3. `buf` on PATH, if it is the pinned version;
#   4. otherwise `npm ci` the committed tools/buf/package.json and package-lock.json
#      (the npm package @bufbuild/buf, exact version and integrity hashes pinned) into
#      <repo>/.tools/buf, and symlink the native binary that its per-platform package
#      ships to <repo>/.tools/buf/bin/buf.
#
# Needs only node and npm (node 20's npm is enough). Idempotent and quiet: on success it
# prints one line on stderr saying which buf it uses, and the path on stdout.
set -euo pipefail

# Keep in step with tools/buf/package.json (checked below) and its lockfile.
readonly BUF_VERSION="1.75.0"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
manifest_dir="$repo_root/tools/buf"
tools_dir="$repo_root/.tools"
install_dir="$tools_dir/buf"
tools_bin="$install_dir/bin/buf"

# Succeeds if $1 is an executable buf that reports exactly BUF_VERSION.
usable() {
    local candidate="$1" version
    [[ -n "$candidate" && -f "$candidate" && -x "$candidate" ]] || return 1
    version="$("$candidate" --version 2>/dev/null)" || return 1
    [[ "$version" == "$BUF_VERSION" ]]
}

# Makes $1 absolute without resolving symlinks in its last component.
absolute() {
    local dir
    dir="$(cd "$(dirname "$1")" && pwd -P)"
    printf '%s/%s\n' "$dir" "$(basename "$1")"
}

# Reports the choice ($1 = path, $2 = where it came from) and exits.
use() {
    local path
    path="$(absolute "$1")"
    echo "install-buf: using buf v$BUF_VERSION from $2: $path" >&2
    printf '%s\n' "$path"
    exit 0
}

if [[ -n "${TARIFF_BUF:-}" ]]; then
    if usable "$TARIFF_BUF"; then
        use "$TARIFF_BUF" "\$TARIFF_BUF"
    fi
    echo "install-buf: ignoring TARIFF_BUF=$TARIFF_BUF (not an executable buf $BUF_VERSION)" >&2
fi

if usable "$tools_bin"; then
    use "$tools_bin" ".tools"
fi

if path_buf="$(command -v buf 2>/dev/null)" && usable "$path_buf"; then
    use "$path_buf" "PATH"
fi

for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "install-buf: $tool is needed to install buf $BUF_VERSION (npm package @bufbuild/buf)" >&2
        exit 1
    fi
done
if ! grep -q "\"@bufbuild/buf\": \"$BUF_VERSION\"" "$manifest_dir/package.json"; then
    echo "install-buf: tools/buf/package.json does not pin @bufbuild/buf $BUF_VERSION;" \
        "update BUF_VERSION here and the manifest and lockfile together" >&2
    exit 1
fi

# Install the pinned package. Serialise concurrent runs (parallel CI steps, two shells).
mkdir -p "$install_dir"
exec 9>"$tools_dir/.install-buf.lock"
if command -v flock >/dev/null 2>&1; then
    flock 9
fi
# Another run may have finished the install while this one waited for the lock.
if usable "$tools_bin"; then
    use "$tools_bin" ".tools"
fi

# npm ci installs exactly what the lockfile says, checks every tarball's integrity,
# and replaces any node_modules left over from an older pin. Install scripts are off:
# @bufbuild/buf's postinstall only re-checks the binary or, where npm skipped the
# optional per-platform package, fetches it itself; the check below does the former
# and fails clearly instead of the latter.
cp "$manifest_dir/package.json" "$manifest_dir/package-lock.json" "$install_dir/"
npm ci --prefix "$install_dir" --ignore-scripts --no-audit --no-fund \
    --loglevel=error --progress=false >&2

# The platform package that npm picked from @bufbuild/buf's optionalDependencies
# (the same table as the package's own scripts/platform.ts).
case "$(uname -s) $(uname -m)" in
    "Linux x86_64" | "Linux amd64") platform_pkg="buf-linux-x64" ;;
    "Linux aarch64" | "Linux arm64") platform_pkg="buf-linux-aarch64" ;;
    "Linux armv7l") platform_pkg="buf-linux-armv7" ;;
    "Darwin x86_64") platform_pkg="buf-darwin-x64" ;;
    "Darwin arm64") platform_pkg="buf-darwin-arm64" ;;
    *)
        echo "install-buf: no @bufbuild/buf binary package for $(uname -s) $(uname -m)" >&2
        exit 1
        ;;
esac
shipped="$install_dir/node_modules/@bufbuild/$platform_pkg/bin/buf"

if ! usable "$shipped"; then
    echo "install-buf: $shipped from @bufbuild/buf@$BUF_VERSION is missing," \
        "does not run, or is not version $BUF_VERSION" >&2
    exit 1
fi
mkdir -p "$install_dir/bin"
# Relative, so the install survives moving the checkout.
ln -sfn "../node_modules/@bufbuild/$platform_pkg/bin/buf" "$tools_bin"
use "$tools_bin" "@bufbuild/buf@$BUF_VERSION in .tools/buf"
