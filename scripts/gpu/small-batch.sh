#!/usr/bin/env bash
# Small batches (1x128, 16x128) in one process each, one variant at a time, on the models that
# run-checks.sh made (/tmp/bench-model, /tmp/bench-rex; made here when missing): the default kernels
# against the unstaged 4-warp split DeBERTa attention (UNINLU_DEBERTA_ATTENTION=tc-global), and the GEMM autotune over cuBLASLt's first
# 12 candidates (UNINLU_GEMM_CANDIDATES=12; 6 by default). Prints each run's graph medians and
# writes the JSON of each under $OUT/small-batch-*.json.
# Usage (device, repository root, carried binary): bash scripts/gpu/small-batch.sh   [ROUNDS=2]
set -u -o pipefail
. scripts/gpu/variant-runs.sh
run() {   # name model env...
    local name=$1 model=$2; shift 2
    run_variant small-batch "$name" "$model" 1x128,16x128 "$@"
}
for round in $(seq 1 ${ROUNDS:-2}); do
    run "bert-default-$round" "$BERT"
    run "bert-gemm12-$round" "$BERT" UNINLU_GEMM_CANDIDATES=12
    run "rex-default-$round" "$REX"
    run "rex-tc-global-$round" "$REX" UNINLU_DEBERTA_ATTENTION=tc-global
    run "rex-gemm12-$round" "$REX" UNINLU_GEMM_CANDIDATES=12
done
