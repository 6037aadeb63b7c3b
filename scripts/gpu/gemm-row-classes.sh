#!/usr/bin/env bash
# GEMM timings shared by row classes (GemmEngine.reuseClassTiming) on the device:
#   1. `uninlu check ops` (linear cases at 100, 120 and 128 rows take the algorithm timed at another
#      row count of their class; each is compared with the CPU);
#   2. graph medians, BERT-base and Rex, the default against UNINLU_GEMM_TUNE=exact (every row count
#      timed), one process each, alternating over ROUNDS; shapes run in order, so 1x100 and 1x120
#      take 1x128's timing (class 128). Over 128 rows every row count is timed by default
#      (GemmEngine.sharedRowLimit); the larger shapes stay as a control. The logs name each GEMM that
#      took another row count's timing (bench/results/2026-12-04-gemm-row-classes-h200.txt).
# Usage (device, repository root, carried binary): bash scripts/gpu/gemm-row-classes.sh  [ROUNDS=2] [SKIP_CHECK=1]
set -u -o pipefail
. scripts/gpu/variant-runs.sh
SHAPES=${SHAPES:-1x128,1x100,1x120,12x128,5x300,14x128,8x200}
if [ "${SKIP_CHECK:-0}" != 1 ]; then
    timeout 200 "$BIN" check ops > "$OUT/rowclass-check.txt" 2>&1
    grep -E "^(ops|rex-ops): |passed,|FAIL|timed at" "$OUT/rowclass-check.txt" | head -30
fi
for round in $(seq 1 ${ROUNDS:-2}); do
    for model in bert rex; do
        dir=$BERT; [ $model = rex ] && dir=$REX
        run_variant rowclass $model-shared-$round "$dir" "$SHAPES"
        grep -c "timed at" "$OUT/rowclass-$model-shared-$round.txt" | sed "s/^/  GEMMs that took a class timing: /"
        run_variant rowclass $model-exact-$round "$dir" "$SHAPES" UNINLU_GEMM_TUNE=exact
    done
done
