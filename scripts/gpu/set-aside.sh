#!/usr/bin/env bash
# The device tool sends the checkout's tracked files (plus carried paths) and refuses more than
# 64 MiB. The tracked tree is ~59 MB (the bundled model 29 MB, test fixtures 27 MB) and the packed
# static binary ~18 MB, so a GPU call that carries the binary must leave something behind. A tracked
# file missing from the working tree does not travel (checked 2026-11-25), so this script moves the
# paths a call does not need out of the checkout, and back:
#
#   bash scripts/gpu/set-aside.sh out [PATH...]   # default: Models (the bundled model, 29 MB)
#   ... the device call ...
#   bash scripts/gpu/set-aside.sh back            # always run this afterwards (git status must be clean)
#
# Which paths a call can spare: `uninlu check` needs Tests/Fixtures but not Models/; the benchmarks
# and the load test need neither Tests/Fixtures/*/cases.json nor Models/ (they make random base-size
# models); validating the bundled model needs Models/ but not Tests/Fixtures/*/cases.json (15 MB). The paths are kept in $ASIDE (default
# /tmp/uninlu-aside) with their relative paths.
set -euo pipefail
cd "$(dirname "$0")/../.."
ASIDE=${ASIDE:-/tmp/uninlu-aside}
case "${1:-}" in
out)
    shift
    paths=("$@")
    [ ${#paths[@]} -gt 0 ] || paths=(Models)
    for p in "${paths[@]}"; do
        [ -e "$p" ] || { echo "no such path: $p" >&2; exit 1; }
        mkdir -p "$ASIDE/$(dirname "$p")"
        mv "$p" "$ASIDE/$p"
        echo "set aside: $p"
    done
    ;;
back)
    [ -d "$ASIDE" ] || { echo "nothing set aside in $ASIDE"; exit 0; }
    (cd "$ASIDE" && find . -type f -o -type l) | while read -r f; do
        p=${f#./}
        mkdir -p "$(dirname "$p")"
        mv "$ASIDE/$p" "$p"
        echo "restored: $p"
    done
    rm -rf "$ASIDE"
    git status --short
    ;;
*)
    echo "usage: $0 out [PATH...] | back" >&2
    exit 64
    ;;
esac
