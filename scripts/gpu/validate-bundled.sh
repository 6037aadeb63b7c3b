#!/usr/bin/env bash
# The bundled model (Models/uninlu-siamese-zh-small) through `uninlu validate` on the GPU machine:
# CUDA FP16 against the CPU in FP32 (flips counted) on the held-out sets that scripts/train/prepare.py
# writes (.carry/train/validate/*.jsonl[.xz]), then MSRA once more with the FP16 re-check
# (--fp16-recheck-margin, against CUDA FP32, which decodes as the CPU). Carry [".carry"] with
# .carry/uninlu.xz (scripts/gpu/pack.sh) and .carry/train/validate; keep Models/ in the tree.
# Knobs: MODEL (the bundled model), MARGIN (0.1), RECHECK=0 (skip the re-check run),
# SETS (msra_test crosswoz_slots_test crosswoz_intents_test), CPU_THREADS (12).
# scripts/gpu/train-and-check.sh calls it on the model it has just trained.
set -u -o pipefail
OUT=${OUT:-/tmp/uninlu-out}
R=${R:-$OUT}
mkdir -p "$R"
BIN=${UNINLU_BIN:-/tmp/uninlu}
[ -x "$BIN" ] || { xz -dc .carry/uninlu.xz > "$BIN" && chmod +x "$BIN"; } || { echo "no carried binary"; exit 2; }
MODEL=${MODEL:-Models/uninlu-siamese-zh-small}
sha256sum "$MODEL/model.safetensors" | tee "$R/model.sha256"
for f in .carry/train/validate/*.xz; do [ -f "$f" ] && xz -dkf "$f"; done
export UNINLU_CPU_THREADS=${CPU_THREADS:-12}
for set in ${SETS:-msra_test crosswoz_slots_test crosswoz_intents_test}; do
    data=.carry/train/validate/$set.jsonl
    [ -f "$data" ] || { echo "missing $data"; continue; }
    echo "== $(date -u +%T) validate $set: cuda fp16 against cpu fp32"
    timeout 200 "$BIN" validate --model "$MODEL" --data "$data" --backend cuda --precision fp16 --against cpu:fp32 \
        --per-type --output "$R/validate-$set.json" --quiet > "$R/validate-$set.txt" 2>&1
    echo "exit $?" >> "$R/validate-$set.txt"
    cat "$R/validate-$set.txt"
done
if [ "${RECHECK:-1}" = 1 ] && [ -f .carry/train/validate/msra_test.jsonl ]; then
    echo "== $(date -u +%T) validate msra_test: cuda fp16 + fp32 re-check (margin ${MARGIN:-0.1}) against cuda fp32"
    timeout 150 "$BIN" validate --model "$MODEL" --data .carry/train/validate/msra_test.jsonl --backend cuda --precision fp16 \
        --fp16-recheck-margin "${MARGIN:-0.1}" --against cuda:fp32 --per-type --output "$R/validate-msra_test-recheck.json" --quiet \
        > "$R/validate-msra_test-recheck.txt" 2>&1
    echo "exit $?" >> "$R/validate-msra_test-recheck.txt"
    cat "$R/validate-msra_test-recheck.txt"
fi
