#!/usr/bin/env bash
# The wide GEMM search (UNINLU_GEMM_SEARCH=all, Sources/UniNLUCUDA/BLASLt/GemmAlgoSearch.swift) on the device:
#   1. `uninlu check ops` with it (every linear case on its searched algorithm, against the CPU);
#   2. graph medians, BERT-base and Rex, the default autotune against the search, one process each,
#      alternating over ROUNDS, with each GEMM's search summary (configurations accepted, the three
#      fastest) in the logs.
# Usage (device, repository root, carried binary): bash scripts/gpu/gemm-search.sh  [ROUNDS=2] [SHAPES=1x128,16x128]
set -u -o pipefail
. scripts/gpu/variant-runs.sh
SHAPES=${SHAPES:-1x128,16x128}
start=$(date +%s)
UNINLU_GEMM_SEARCH=all timeout 400 "$BIN" check ops > "$OUT/search-check.txt" 2>&1
echo "check ops with the search: rc=$? in $(( $(date +%s) - start )) s"
grep -E "^(ops|rex-ops): |passed,|FAIL" "$OUT/search-check.txt" | head -20
for round in $(seq 1 ${ROUNDS:-2}); do
    for model in bert rex; do
        dir=$BERT; [ $model = rex ] && dir=$REX
        run_variant search $model-default-$round "$dir" "$SHAPES"
        start=$(date +%s)
        run_variant search $model-all-$round "$dir" "$SHAPES" UNINLU_GEMM_SEARCH=all
        echo "  (search run: $(( $(date +%s) - start )) s)"
    done
done
grep -h "GEMM autotune" "$OUT/search-bert-all-1.txt" | sed -E 's/cublaslt [0-9]+ [0-9.]+, //g' | head -30
