#!/usr/bin/env bash
# Checks the public gRPC + JSON contract in proto/ with the pinned buf
# (scripts/install-buf.sh): `buf lint`, then `buf breaking` against the main branch,
# with the rules of buf.yaml. Exits non-zero when either finds anything.
#
#   scripts/check-proto.sh
#
# The breaking check compares the working tree (uncommitted edits included) with the
# commit where HEAD's history meets main's: main itself when HEAD is main or is ahead
# of it (then a clean tree has nothing to find, and the check passes), the fork point
# on a branch, so main moving on with additions of its own is not read as the branch
# deleting them. It takes the local branch `main`, else `origin/main`, else it skips
# with a message; TARIFF_PROTO_AGAINST=<git ref> compares with that ref instead.
set -euo pipefail
cd "$(dirname "$0")/.."

buf="$(scripts/install-buf.sh | tail -n1)"
failed=0

echo "check-proto: buf lint"
if "$buf" lint; then
    echo "check-proto: lint: no findings"
else
    echo "check-proto: lint: FAILED (buf.yaml says which rules apply and why some are excepted)" >&2
    failed=1
fi

# The baseline to compare with, as a commit.
against_ref=""
if git rev-parse --git-dir >/dev/null 2>&1; then
    if [[ -n "${TARIFF_PROTO_AGAINST:-}" ]]; then
        candidates=("$TARIFF_PROTO_AGAINST")
    else
        candidates=(refs/heads/main refs/remotes/origin/main)
    fi
    for candidate in "${candidates[@]}"; do
        if git rev-parse --verify -q "$candidate^{commit}" >/dev/null; then
            against_ref="$candidate"
            break
        fi
    done
    if [[ -n "${TARIFF_PROTO_AGAINST:-}" && -z "$against_ref" ]]; then
        echo "check-proto: TARIFF_PROTO_AGAINST=$TARIFF_PROTO_AGAINST is not a commit here" >&2
        exit 1
    fi
fi

if [[ -z "$against_ref" ]]; then
    echo "check-proto: breaking: SKIPPED: no git history here, or neither a main branch" \
        "nor origin/main to compare with (set TARIFF_PROTO_AGAINST=<ref> to name one)"
else
    # Where HEAD's history meets the baseline's; the baseline itself when they share
    # none, or when there is no HEAD commit yet.
    base="$(git merge-base HEAD "$against_ref" 2>/dev/null)" \
        || base="$(git rev-parse --verify "$against_ref^{commit}")"
    # The common git directory holds every ref and object, in a linked worktree too.
    git_dir="$(cd "$(git rev-parse --git-common-dir)" && pwd -P)"
    echo "check-proto: buf breaking against ${against_ref#refs/*/}" \
        "(commit ${base:0:12}, subdir proto)"
    if "$buf" breaking --against "$git_dir#format=git,ref=$base,subdir=proto"; then
        echo "check-proto: breaking: no findings"
    else
        echo "check-proto: breaking: FAILED: these changes break the published contract" >&2
        failed=1
    fi
fi

exit "$failed"
