#!/usr/bin/env bash
# The Rex pair-score kernel (RotaryPairScoresKernel.swift) on the device: `uninlu check ops` and
# `check fixtures` (rotaryPairScores against the CPU; every Rex fixture decoded), then the Rex
# benchmark's model call (encoder + RoPE head + Z to host) with the 64x64-tile kernel against the
# earlier 16x16 one (UNINLU_PAIR_SCORES=tiles16), one process each, alternating over ROUNDS.
# Usage (device, repository root, carried binary): bash scripts/gpu/pair-scores.sh  [ROUNDS=2] [SKIP_CHECK=1]
set -u -o pipefail
. scripts/gpu/variant-runs.sh
SHAPES=${SHAPES:-1x128,16x128,128x128,8x512}
if [ "${SKIP_CHECK:-0}" != 1 ]; then
    timeout 200 "$BIN" check ops > "$OUT/pairs-check-ops.txt" 2>&1
    timeout 200 "$BIN" check fixtures > "$OUT/pairs-check-fixtures.txt" 2>&1
    grep -hE "^(ops|rex-ops|fixtures|rex-fixtures): |rotaryPairScores" "$OUT/pairs-check-ops.txt" "$OUT/pairs-check-fixtures.txt" | cut -c1-150
fi
for round in $(seq 1 ${ROUNDS:-2}); do
    for variant in t64 tiles16; do
        env UNINLU_PAIR_SCORES=$variant timeout 150 "$BIN" bench --model "$REX" --backend cuda --precision fp16 --shapes "$SHAPES" \
            --iterations 30 --warmup 5 --output "$OUT/pairs-$variant-$round.json" > "$OUT/pairs-$variant-$round.txt" 2>&1
        echo "== $variant $round"; grep -E "model call" "$OUT/pairs-$variant-$round.txt" | sed 's/^bench: rex //'
    done
done
