#!/usr/bin/env bash
# Per-kernel GPU time of UniNLU's encoder forward under Nsight Compute (no hardware counters beyond
# the kernel duration; clocks left alone, as the device's METHOD.md asks). For each model kind and
# shape: `uninlu bench --backend cuda` with a few forwards, every kernel launch profiled
# (`gpu__time_duration.sum`), summarised per kernel name (count, mean, total). The BERT bench runs
# 12 + 2 * FORWARDS forwards (5 warm-up, FORWARDS timed, 1 checked, then as a graph: 1 checked, 5
# warm-up, FORWARDS timed), 18 with the default; the Rex bench adds its model-call timings, so count
# its forwards from a once-a-layer kernel (attention launches / layers: 24 with FORWARDS=2). Load-time
# kernels (weight conversion) appear apart. scripts/gpu/ncu_summary.py writes
# the per-kernel table (ncu-KIND-SHAPE-summary.txt) beside the raw output. Needs ncu on the PATH (the
# GPU machine's image has it) and the carried binary.
#   bash scripts/gpu/profile-kernels.sh             # BERT and DeBERTa base, 1x128 and 128x128
# Knobs: KINDS ("bert rex"), SHAPES ("1x128 128x128"), FORWARDS (3).
set -u -o pipefail
OUT=${OUT:-/tmp/uninlu-out}
mkdir -p "$OUT"
BIN=${UNINLU_BIN:-/tmp/uninlu}
[ -x "$BIN" ] || { xz -dc .carry/uninlu.xz > "$BIN" && chmod +x "$BIN"; } || { echo "no carried binary"; exit 2; }
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1 || ls /usr/local/cuda/bin/ncu 2>/dev/null)
[ -n "$NCU" ] || { echo "ncu not found"; exit 3; }
for kind in ${KINDS:-bert rex}; do
    M=/tmp/profile-$kind
    if [ "$kind" = bert ]; then
        [ -d "$M" ] || python3 scripts/gpu/bench_bert.py make-model "$M" Tests/Fixtures/siamese_uie/model > /dev/null 2>&1
    else
        [ -d "$M" ] || python3 scripts/gpu/bench_deberta.py make-model "$M" Tests/Fixtures/rex_uninlu/model > /dev/null 2>&1
    fi
    for shape in ${SHAPES:-1x128 128x128}; do
        echo "== $(date -u +%T) $kind $shape"
        timeout 240 "$NCU" --clock-control none --metrics gpu__time_duration.sum --print-summary per-kernel \
            "$BIN" bench --model "$M" --backend cuda --precision fp16 --shapes "$shape" --iterations "${FORWARDS:-3}" --warmup 5 \
            --output /tmp/profile-bench.json > "$OUT/ncu-$kind-$shape.txt" 2>&1
        echo "exit $?" >> "$OUT/ncu-$kind-$shape.txt"
        python3 scripts/gpu/ncu_summary.py "$OUT/ncu-$kind-$shape.txt" > "$OUT/ncu-$kind-$shape-summary.txt"
        head -6 "$OUT/ncu-$kind-$shape-summary.txt"
    done
done
