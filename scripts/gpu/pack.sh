#!/usr/bin/env bash
# Builds the static release binary here and packs it for the device run (.carry/ is git-ignored):
#   bash scripts/gpu/pack.sh   then run scripts/gpu/run-checks.sh on the GPU machine with carry [".carry"].
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --static-swift-stdlib --product uninlu --scratch-path .build-cuda
mkdir -p .carry
strip -o .carry/uninlu .build-cuda/release/uninlu
xz -T2 -6 -f .carry/uninlu
git rev-parse --short HEAD > .carry/commit
ls -l .carry
