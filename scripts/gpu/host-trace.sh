#!/usr/bin/env bash
# Where the Rex model call spends its host time at large batches (the open question of
# docs/cuda-measurements.md, "third session"): the Rex benchmark, one shape at a time, with
# UNINLU_TRACE_HOST=1, which makes RexUniNLUModel.tokenPairLogits print its phases to stderr
# (inputs concatenated, attention layout built, mask columns checked, layer 0 queued, DeBERTa
# layout staged, encoder queued, pair-score kernels queued, GPU done (a synchronize added only
# under the trace), Z downloaded, results wrapped (per-job views of the packed Z)).
# Usage (device, repository root, carried binary): bash scripts/gpu/host-trace.sh   [SHAPES="128x128 8x512"]
set -u -o pipefail
OUT=${OUT:-/tmp/uninlu-out}
mkdir -p "$OUT"
BIN=${UNINLU_BIN:-/tmp/uninlu}
[ -x "$BIN" ] || { xz -dc .carry/uninlu.xz > "$BIN" && chmod +x "$BIN"; } || { echo "no carried binary"; exit 2; }
REX=/tmp/bench-rex
[ -d "$REX" ] || timeout 120 python3 scripts/gpu/bench_deberta.py make-model "$REX" Tests/Fixtures/rex_uninlu/model > /dev/null 2>&1
for shape in ${SHAPES:-128x128 8x512}; do
    UNINLU_TRACE_HOST=1 timeout 90 "$BIN" bench --model "$REX" --backend cuda --precision fp16 --shapes "$shape" \
        --iterations 10 --warmup 2 --output "$OUT/host-trace-$shape.json" > "$OUT/host-trace-$shape.txt" 2>&1
    grep -E "model call \(|encoder $shape fp16: median" "$OUT/host-trace-$shape.txt"
    grep "rex model call, " "$OUT/host-trace-$shape.txt" | grep -v " 1 jobs" | tail -3
done
