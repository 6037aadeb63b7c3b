#!/usr/bin/env bash
# Our tensor-core GEMM tiles (TensorCoreGemmKernel.swift) against cuBLASLt alone, on the device:
#   1. `uninlu check ops` (every linear and linearResidualNorm case under the timed choice, cuBLASLt
#      alone and each tile, FP16 and FP32 against the CPU);
#   2. graph medians per variant, one process each, alternating over ROUNDS: default (timed choice
#      between cuBLASLt and our tiles) and UNINLU_GEMM=cublaslt, for BERT and Rex at SHAPES, then
#      WIDE=1 (default 1) adds 128x128 and 8x512;
#   3. the chosen kernel per GEMM shape, from the plan JSON a `build` writes (PLAN=1, default 1).
# Usage (device, repository root, carried binary): bash scripts/gpu/gemm-tiles.sh  [ROUNDS=2] [SKIP_CHECK=1]
set -u -o pipefail
. scripts/gpu/variant-runs.sh
if [ "${SKIP_CHECK:-0}" != 1 ]; then
    timeout 300 "$BIN" check ops --seed ${SEED:-20261125} > "$OUT/gemm-tiles-check.txt" 2>&1
    echo "check ops exit code: $?" | tee -a "$OUT/gemm-tiles-check.txt"
    grep -E "FAIL|passed|failed|linear.*(chose|gemm_tc_64x64)" "$OUT/gemm-tiles-check.txt" | head -40
fi
SHAPES=${SHAPES:-1x128,4x128,16x128}
for round in $(seq 1 ${ROUNDS:-2}); do
    run_variant gemm "bert-default-$round" "$BERT" "$SHAPES"
    run_variant gemm "bert-cublaslt-$round" "$BERT" "$SHAPES" UNINLU_GEMM=cublaslt
    run_variant gemm "rex-default-$round" "$REX" "$SHAPES"
    run_variant gemm "rex-cublaslt-$round" "$REX" "$SHAPES" UNINLU_GEMM=cublaslt
done
if [ "${WIDE:-1}" = 1 ]; then
    run_variant gemm bert-wide-default "$BERT" 128x128,8x512
    run_variant gemm bert-wide-cublaslt "$BERT" 128x128,8x512 UNINLU_GEMM=cublaslt
    run_variant gemm rex-wide-default "$REX" 128x128,8x512
    run_variant gemm rex-wide-cublaslt "$REX" 128x128,8x512 UNINLU_GEMM=cublaslt
fi
if [ "${PLAN:-0}" = 1 ]; then
    timeout 120 "$BIN" build --model "$BERT" --precision fp16 --output /tmp/gemm-tiles.plan --shapes "$SHAPES" > "$OUT/gemm-tiles-build.txt" 2>&1
    echo "build exit code: $?"; tail -3 "$OUT/gemm-tiles-build.txt"
fi
