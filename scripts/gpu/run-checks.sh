#!/usr/bin/env bash
# One device run: unpack the carried static binary, doctor, the CUDA parity check (ops + fixtures,
# FP32 and FP16), then the benchmark side by side with PyTorch. Everything lands under $OUT.
# Usage (device): bash scripts/gpu/run-checks.sh   [CHECK_ONLY=1] [SKIP_CHECK=1] [SKIP_COMPILE=1] [SKIP_BERT=1] [SKIP_REX=1]
#   [REX_VARIANTS=0: skip the Rex runs with the other attention kernels and in FP32]
#   [BERT_VARIANTS=0: skip the BERT runs in FP32 and with the FMA attention, and the plan build]
#   [CHECK_TIMEOUT=420: seconds for `uninlu check all`]
# The check covers SiameseUIE and RexUniNLU (rex-ops, rex-fixtures); the Rex/DeBERTa-v2 benchmark
# (scripts/gpu/bench_deberta.py) runs after the BERT one.
set -u -o pipefail
OUT=${OUT:-/tmp/uninlu-out}
mkdir -p "$OUT"
BIN=/tmp/uninlu
xz -dc .carry/uninlu.xz > "$BIN" && chmod +x "$BIN" || { echo "no carried binary"; exit 2; }
COMMIT=$(cat .carry/commit 2>/dev/null || git rev-parse --short HEAD 2>/dev/null || echo unknown)
export PYTHONUNBUFFERED=1

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm --format=csv | tee -a "$OUT/run.log"
"$BIN" doctor | tee -a "$OUT/run.log"
"$BIN" doctor --json > "$OUT/doctor.json"

if [ "${SKIP_CHECK:-0}" != 1 ]; then
    timeout ${CHECK_TIMEOUT:-420} "$BIN" check all --seed ${SEED:-20261125} 2>&1 | tee "$OUT/check.txt"
    echo "check exit code: ${PIPESTATUS[0]}" | tee -a "$OUT/check.txt"
fi
[ "${CHECK_ONLY:-0}" = 1 ] && exit 0

rex_bench() {
    # RexUniNLU / DeBERTa-v2 base (random weights), UniNLU FP16 vs transformers' DebertaV2Model.
    local REX=/tmp/bench-rex
    timeout 120 python3 scripts/gpu/bench_deberta.py make-model "$REX" Tests/Fixtures/rex_uninlu/model 2>&1 | tail -2 | tee -a "$OUT/run.log"
    timeout 150 "$BIN" bench --model "$REX" --backend cuda --precision fp16 --shapes 1x128,16x128,128x128,8x512 \
        --iterations 50 --warmup 10 --text "2008年北京奥运会上，菲尔普斯在国家游泳中心为美国队赢得了八枚金牌。" \
        --labels 人物,地理位置,组织机构 --output "$OUT/uninlu-rex-bench.json" 2>&1 | sed 's/^/[rex] /' | tee -a "$OUT/run.log"
    # The NER request over 64 texts of different lengths: length buckets, exact-length graphs, op by op.
    timeout 240 "$BIN" bench --model "$REX" --backend cuda --precision fp16 --shapes 1x128 --iterations 20 \
        --text "2008年北京奥运会上，菲尔普斯在国家游泳中心为美国队赢得了八枚金牌。" --labels 人物,地理位置,组织机构 \
        --text-variants 64 --output "$OUT/uninlu-rex-bench-varied.json" 2>&1 | grep end-to-end | sed 's/^/[rex varied lengths] /' | tee -a "$OUT/run.log"
    if [ "${REX_VARIANTS:-1}" = 1 ]; then
        # The wide kernel's earlier forms: staged K/V with relative rows from global memory, and unstaged.
        for v in tc-global mma; do
            UNINLU_DEBERTA_ATTENTION=$v timeout 60 "$BIN" bench --model "$REX" --backend cuda --precision fp16 --shapes 128x128,8x512 \
                --iterations 20 --output "$OUT/uninlu-rex-bench-fp16-$v-attention.json" 2>&1 | sed "s/^/[rex $v attention] /" | tee -a "$OUT/run.log"
        done
        UNINLU_DEBERTA_ATTENTION=fma timeout 60 "$BIN" bench --model "$REX" --backend cuda --precision fp16 --shapes 1x128,128x128,8x512 \
            --iterations 20 --output "$OUT/uninlu-rex-bench-fp16-fma-attention.json" 2>&1 | sed 's/^/[rex fma attention] /' | tee -a "$OUT/run.log"
        timeout 40 "$BIN" bench --model "$REX" --backend cuda --precision fp32 --shapes 1x128,16x128 --iterations 10 \
            --output "$OUT/uninlu-rex-bench-fp32.json" 2>&1 | sed 's/^/[rex fp32] /' | tee -a "$OUT/run.log"
    fi
    timeout 240 python3 scripts/gpu/bench_deberta.py torch "$REX" "$OUT/torch-rex-bench.json" "$OUT/uninlu-rex-bench.json" 2>&1 \
        | grep -v Warning | sed 's/^/[rex] /' | tee -a "$OUT/run.log"
    python3 scripts/gpu/bench_deberta.py merge "$OUT/uninlu-rex-bench.json" "$OUT/torch-rex-bench.json" "$OUT/gpu-rex-bench.json" "$COMMIT" 2>&1 | tee -a "$OUT/run.log"
}
if [ "${SKIP_BERT:-0}" = 1 ]; then
    [ "${SKIP_REX:-0}" = 1 ] || rex_bench
    exit 0
fi

MODEL=/tmp/bench-model
python3 scripts/gpu/bench_bert.py make-model "$MODEL" Tests/Fixtures/siamese_uie/model 2>&1 | tail -2 | tee -a "$OUT/run.log"
timeout 240 "$BIN" bench --model "$MODEL" --backend cuda --precision fp16 --shapes 1x128,16x128,128x128,8x512 \
    --iterations 50 --warmup 10 --text "帮我定一张明天去上海的机票" --labels 出发地,目的地,时间,人物 --output "$OUT/uninlu-bench.json" 2>&1 | tee -a "$OUT/run.log"
# Traffic of varied lengths: the request over 64 texts of different lengths, with length buckets,
# with graphs keyed on exact lengths, and op by op (UniNLU only).
timeout 240 "$BIN" bench --model "$MODEL" --backend cuda --precision fp16 --shapes 1x128 --iterations 20 \
    --text "帮我定一张明天去上海的机票" --labels 出发地,目的地,时间,人物 --text-variants 64 --output "$OUT/uninlu-bench-varied.json" 2>&1 \
    | grep end-to-end | sed 's/^/[varied lengths] /' | tee -a "$OUT/run.log"
# The wide attention kernel's earlier form (per-warp K/V tiles), always: it is cheap.
UNINLU_ATTENTION=perwarp timeout 60 "$BIN" bench --model "$MODEL" --backend cuda --precision fp16 --shapes 128x128,8x512 --iterations 20 \
    --output "$OUT/uninlu-bench-fp16-perwarp-attention.json" 2>&1 | sed 's/^/[perwarp attention] /' | tee -a "$OUT/run.log"
if [ "${BERT_VARIANTS:-1}" = 1 ]; then
timeout 200 "$BIN" bench --model "$MODEL" --backend cuda --precision fp32 --shapes 1x128,128x128 --iterations 20 \
    --output "$OUT/uninlu-bench-fp32.json" 2>&1 | tee -a "$OUT/run.log"
UNINLU_ATTENTION=scalar timeout 120 "$BIN" bench --model "$MODEL" --backend cuda --precision fp16 --shapes 1x128,128x128,8x512 --iterations 20 \
    --output "$OUT/uninlu-bench-fp16-fma-attention.json" 2>&1 | sed 's/^/[fma attention] /' | tee -a "$OUT/run.log"
TIMEFORMAT="wall %R s"
{ echo "uninlu build:"; time timeout 120 "$BIN" build --model "$MODEL" --precision fp16 --output /tmp/bench-fp16.plan
  ls -l /tmp/bench-fp16.plan
  echo "predict from the plan (process start to first result):"
  time timeout 60 "$BIN" predict --model /tmp/bench-fp16.plan \
      --text "帮我定一张明天去上海的机票" --labels 出发地,目的地,时间,人物; } 2>&1 | tee -a "$OUT/run.log"
fi
timeout 420 python3 scripts/gpu/bench_bert.py torch "$MODEL" "$OUT/torch-bench.json" 2>&1 | grep -v Warning | tee -a "$OUT/run.log"
python3 scripts/gpu/bench_bert.py merge "$OUT/uninlu-bench.json" "$OUT/torch-bench.json" "$OUT/gpu-bench.json" "$COMMIT" 2>&1 | tee -a "$OUT/run.log"
[ "${SKIP_REX:-0}" = 1 ] || rex_bench
