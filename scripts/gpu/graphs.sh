#!/usr/bin/env bash
# CUDA graphs in the request path, on the device: `uninlu check graphs` (replays against op-by-op
# forwards of the same engine, FP32 and FP16, SiameseUIE and Rex fixtures), then the end-to-end
# request on base-size random models with graphs (default policy) and op by op, for both families.
# Usage (device, carry .carry): bash scripts/gpu/graphs.sh      [SKIP_CHECK=1] [SKIP_BENCH=1] [OPS=1: also check ops]
#   [SHAPES=1x128,...: encoder shapes of the SiameseUIE benchmark]
set -u -o pipefail
OUT=${OUT:-/tmp/uninlu-out}
mkdir -p "$OUT"
BIN=/tmp/uninlu
xz -dc .carry/uninlu.xz > "$BIN" && chmod +x "$BIN" || { echo "no carried binary"; exit 2; }
export PYTHONUNBUFFERED=1
if [ "${SKIP_CHECK:-0}" != 1 ]; then
    timeout 240 "$BIN" check graphs 2>&1 | tee "$OUT/check-graphs.txt"
    echo "check exit code: ${PIPESTATUS[0]}" | tee -a "$OUT/check-graphs.txt"
    [ "${OPS:-0}" = 1 ] && { timeout 200 "$BIN" check ops --quiet 2>&1 | tee "$OUT/check-ops.txt"; }
fi
[ "${SKIP_BENCH:-0}" = 1 ] && exit 0
python3 scripts/gpu/bench_bert.py make-model /tmp/bench-model Tests/Fixtures/siamese_uie/model 2>&1 | tail -1
timeout 120 "$BIN" bench --model /tmp/bench-model --backend cuda --precision fp16 --shapes ${SHAPES:-1x128} --iterations 200 --warmup 20 \
    --text "帮我定一张明天去上海的机票" --labels 出发地,目的地,时间,人物 --output "$OUT/bert-e2e-graphs.json" 2>&1 | tee -a "$OUT/graphs.log"
python3 scripts/gpu/bench_deberta.py make-model /tmp/bench-rex Tests/Fixtures/rex_uninlu/model 2>&1 | tail -1
timeout 120 "$BIN" bench --model /tmp/bench-rex --backend cuda --precision fp16 --shapes 1x128 --iterations 200 --warmup 20 \
    --text "2008年北京奥运会上，菲尔普斯在国家游泳中心为美国队赢得了八枚金牌。" --labels 人物,地理位置,组织机构 \
    --output "$OUT/rex-e2e-graphs.json" 2>&1 | tee -a "$OUT/graphs.log"
