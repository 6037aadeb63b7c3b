#!/usr/bin/env bash
# GEMM row classes on whole requests: the short 4-label SiameseUIE request and the Rex NER request
# end to end (their forwards are small: tens of rows, whose GEMMs share timings with the rest of
# their power-of-two class by default), default against UNINLU_GEMM_TUNE=exact, one process each,
# alternating over ROUNDS.
# Usage (device, repository root, carried binary): bash scripts/gpu/gemm-row-classes-requests.sh  [ROUNDS=3]
set -u -o pipefail
. scripts/gpu/variant-runs.sh
for round in $(seq 1 ${ROUNDS:-3}); do
    for tune in shared exact; do
        env UNINLU_GEMM_TUNE=$tune timeout 90 "$BIN" bench --model "$BERT" --backend cuda --precision fp16 --shapes 1x128 \
            --iterations 100 --warmup 20 --text "帮我定一张明天去上海的机票" --labels 出发地,目的地,时间,人物 \
            --output "$OUT/requests-bert-$tune-$round.json" > "$OUT/requests-bert-$tune-$round.txt" 2>&1
        env UNINLU_GEMM_TUNE=$tune timeout 90 "$BIN" bench --model "$REX" --backend cuda --precision fp16 --shapes 1x128 \
            --iterations 100 --warmup 20 --text "2008年北京奥运会上，菲尔普斯在国家游泳中心为美国队赢得了八枚金牌。" \
            --labels 人物,地理位置,组织机构 --output "$OUT/requests-rex-$tune-$round.json" > "$OUT/requests-rex-$tune-$round.txt" 2>&1
        echo "== $tune $round: SiameseUIE $(grep -m1 'end-to-end cuda fp16: median' "$OUT/requests-bert-$tune-$round.txt" | sed -E 's/.*median ([0-9.]+ ms).*/\1/'), Rex $(grep -m1 'end-to-end cuda fp16: median' "$OUT/requests-rex-$tune-$round.txt" | sed -E 's/.*median ([0-9.]+ ms).*/\1/')"
    done
done
