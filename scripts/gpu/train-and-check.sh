#!/usr/bin/env bash
# One call on a two-GPU machine (kind nvidia-h100-x2), carry [".carry"] with .carry/uninlu.xz
# (scripts/gpu/pack.sh) and .carry/train (scripts/train/prepare.py):
#   GPU 1: trains the bundled model (scripts/train/train.py --mode fp32 --export q8_0), then scores
#          the exported model with `uninlu validate` on CUDA FP16 against the CPU in FP32 (flips counted);
#   GPU 0: meanwhile the GPU check (`uninlu check all`: SiameseUIE and Rex ops, fixtures, plans), then
#          the Rex/DeBERTa benchmark side by side with PyTorch (scripts/gpu/run-checks.sh's rex_bench).
# At the end everything but the model is packed into $OUT/results.tar.xz (the device returns at most
# 8 files); the model comes back as $OUT/model.safetensors.part* plus $OUT/model-files.tar.xz.
# Knobs: TRAIN_SECONDS (default 290), CHECK_TIMEOUT (200), DEADLINE (540), SKIP_TRAIN=1, SKIP_CHECK=1, SKIP_REX=1,
# TRAIN_GPU (default 1 on a machine with two or more GPUs, else 0). Without a carried binary only the
# training runs (validate, check and benchmark need it).
set -u -o pipefail
OUT=${OUT:-/tmp/uninlu-out}
R=/tmp/session-results   # packed into $OUT at the end (the device returns at most 8 files)
mkdir -p "$R"
exec > >(tee -a "$R/session.log") 2>&1
note() { echo "== $(date -u +%H:%M:%S) $*"; }
BIN=/tmp/uninlu
if [ -f .carry/uninlu.xz ]; then
    xz -dc .carry/uninlu.xz > "$BIN" && chmod +x "$BIN" || { echo "cannot unpack the carried binary"; exit 2; }
else
    BIN=""; SKIP_CHECK=1; SKIP_REX=1
    echo "no carried binary (.carry/uninlu.xz): training only"
fi
GPUS=$(nvidia-smi --query-gpu=index --format=csv,noheader | wc -l)
TRAIN_GPU=${TRAIN_GPU:-$([ "$GPUS" -ge 2 ] && echo 1 || echo 0)}
export PYTHONUNBUFFERED=1 UNINLU_BIN=$BIN
COMMIT=$(cat .carry/commit 2>/dev/null || echo unknown)
note "commit $COMMIT; $(nproc) cores"
nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv | tee "$R/nvidia-smi.txt"
[ -n "$BIN" ] && "$BIN" doctor > "$R/doctor.txt" 2>&1

# The carried training inputs travel xz-compressed (the 64 MiB transfer cap).
for f in .carry/train/*.xz .carry/train/validate/*.xz; do
    case "$f" in *data.json.xz) ;; *) [ -f "$f" ] && xz -dk "$f";; esac
done

train_and_validate() {
    export CUDA_VISIBLE_DEVICES=$TRAIN_GPU
    note "[gpu$TRAIN_GPU] training"
    (cd .carry/train && timeout $((${TRAIN_SECONDS:-290} + 150)) python3 train.py --data . --out /tmp/train-out \
        --mode fp32 --export q8_0 --train-seconds "${TRAIN_SECONDS:-290}") > "$R/train-stdout.log" 2>&1
    note "[gpu$TRAIN_GPU] training exit $?"
    cp /tmp/train-out/train.log /tmp/train-out/results.json "$R/" 2>/dev/null
    xz -c /tmp/train-out/preds_msra_test.jsonl > "$R/preds_msra_test.jsonl.xz" 2>/dev/null
    # train.py leaves config.json and the weights (split in parts above 15 MiB) in its --out folder;
    # the tokenizer files are its inputs.
    local M=/tmp/trained
    mkdir -p "$M"
    cp /tmp/train-out/config.json "$M/" 2>/dev/null
    cp .carry/train/vocab.txt .carry/train/tokenizer_config.json "$M/"
    echo '{"framework": "pytorch", "task": "siamese-uie", "model": {"type": "bert"}, "pipeline": {"type": "siamese-uie"}, "preprocessor": {"type": "siamese-uie-preprocessor"}}' \
        > "$M/configuration.json"
    if ls /tmp/train-out/model.safetensors.part* > /dev/null 2>&1; then
        cat $(ls /tmp/train-out/model.safetensors.part* | sort -V) > "$M/model.safetensors"
        cp /tmp/train-out/model.safetensors.part* "$OUT/"
    elif [ -f /tmp/train-out/model.safetensors ]; then
        cp /tmp/train-out/model.safetensors "$M/"
        split -b 15M -d -a 1 "$M/model.safetensors" "$OUT/model.safetensors.part"
    fi
    tar -C "$M" -cJf "$OUT/model-files.tar.xz" --exclude model.safetensors .
    [ -n "$BIN" ] || { sha256sum "$M/model.safetensors" | tee "$R/model.sha256"; note "[gpu$TRAIN_GPU] no binary: validate skipped"; return; }
    note "[gpu$TRAIN_GPU] validate: cuda fp16 against cpu fp32"
    MODEL="$M" R="$R" UNINLU_BIN="$BIN" CPU_THREADS=8 RECHECK=0 bash scripts/gpu/validate-bundled.sh
    note "[gpu$TRAIN_GPU] done"
}

# Watchdog: the device call ends at 600 s; whatever still runs at DEADLINE s is stopped so that the
# results are packed in time.
( sleep "${DEADLINE:-540}"; echo "== watchdog: stopping what still runs"; pkill -f train.py; pkill -f bench_deberta.py;
  pkill -f "$BIN" ) &
WATCHDOG=$!

if [ "${SKIP_TRAIN:-0}" != 1 ]; then
    train_and_validate &
    TRAIN_PID=$!
fi

export CUDA_VISIBLE_DEVICES=0
if [ "${SKIP_CHECK:-0}" != 1 ]; then
    note "[gpu0] check all"
    timeout "${CHECK_TIMEOUT:-200}" "$BIN" check all --seed "${SEED:-20261125}" > "$R/check.txt" 2>&1
    echo "check exit code: $?" >> "$R/check.txt"
    tail -12 "$R/check.txt"
fi
if [ "${SKIP_REX:-0}" != 1 ]; then
    note "[gpu0] rex benchmark"
    REX=/tmp/bench-rex
    timeout 120 python3 scripts/gpu/bench_deberta.py make-model "$REX" Tests/Fixtures/rex_uninlu/model 2>&1 | tail -2
    timeout 120 "$BIN" bench --model "$REX" --backend cuda --precision fp16 --shapes 1x128,16x128,128x128,8x512 \
        --iterations 50 --warmup 10 --text "2008年北京奥运会上，菲尔普斯在国家游泳中心为美国队赢得了八枚金牌。" \
        --labels 人物,地理位置,组织机构 --output "$R/uninlu-rex-bench.json" 2>&1 | sed 's/^/[rex] /' | tail -30
    timeout 180 python3 scripts/gpu/bench_deberta.py torch "$REX" "$R/torch-rex-bench.json" "$R/uninlu-rex-bench.json" 2>&1 \
        | grep -v Warning | sed 's/^/[rex torch] /' | tail -30
    python3 scripts/gpu/bench_deberta.py merge "$R/uninlu-rex-bench.json" "$R/torch-rex-bench.json" "$R/gpu-rex-bench.json" "$COMMIT" 2>&1
fi
note "[gpu0] done; waiting for training"
[ -n "${TRAIN_PID:-}" ] && wait "$TRAIN_PID"
pkill -P "$WATCHDOG" 2>/dev/null; kill "$WATCHDOG" 2>/dev/null   # the sleep too: it holds the output pipe open
tar -C "$R" -cJf "$OUT/results.tar.xz" .
ls -l "$OUT"
note "all done"
