#!/usr/bin/env bash
# Rex length buckets on the device (bench/results/2026-12-03-rex-length-buckets-h200.txt):
#   1. `uninlu check fixtures` and `check graphs` (the Rex fixtures run padded under graphs; two Rex
#      prompts of 22 and 24 tokens must share one graph);
#   2. the NER request over 64 text lengths: length buckets, exact-length graphs, op by op;
#   3. the single NER request at bucket 8 against exact lengths (--cuda-graph-bucket 1), one process
#      each, alternating over ROUNDS.
# Usage (device, repository root, carried binary): bash scripts/gpu/rex-length-buckets.sh  [ROUNDS=2] [SKIP_CHECK=1]
set -u -o pipefail
. scripts/gpu/variant-runs.sh
TEXT="2008年北京奥运会上，菲尔普斯在国家游泳中心为美国队赢得了八枚金牌。" LABELS=人物,地理位置,组织机构
if [ "${SKIP_CHECK:-0}" != 1 ]; then
    { timeout 150 "$BIN" check fixtures; timeout 150 "$BIN" check graphs; } > "$OUT/rex-buckets-check.txt" 2>&1
    grep -E "^(fixtures|rex-fixtures|graphs):|passed,|graphs/rex (counters|other)" "$OUT/rex-buckets-check.txt"
fi
timeout 240 "$BIN" bench --model "$REX" --backend cuda --precision fp16 --shapes 1x128 --iterations 20 --text "$TEXT" --labels "$LABELS" \
    --text-variants 64 --output "$OUT/rex-buckets-varied.json" 2>&1 | grep end-to-end
for round in $(seq 1 ${ROUNDS:-2}); do
    for bucket in 8 1; do
        timeout 100 "$BIN" bench --model "$REX" --backend cuda --precision fp16 --shapes 1x128 --iterations 300 --cuda-graph-bucket $bucket \
            --text "$TEXT" --labels "$LABELS" --output "$OUT/rex-request-bucket$bucket-$round.json" 2>&1 \
            | grep "end-to-end cuda fp16: median" | head -1 | sed "s/^/[bucket $bucket round $round] /"
    done
done
