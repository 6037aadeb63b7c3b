#!/usr/bin/env bash
# The summing LayerNorm's split choice (ResidualLayerNormOp.pick) on the device: graph medians of
# BERT-base and Rex at small batches with the timed choice and with 2 and 3 slices forced
# (UNINLU_RESIDUAL_NORM=S), one process each, alternating over ROUNDS; each log has the per-op
# timing of every candidate ("linear + residual + LayerNorm timed").
# Usage (device, repository root, carried binary): bash scripts/gpu/residual-norm-splits.sh  [ROUNDS=2] [SHAPES=...]
set -u -o pipefail
. scripts/gpu/variant-runs.sh
SHAPES=${SHAPES:-1x128,2x128,4x128,8x128,16x128}
for round in $(seq 1 ${ROUNDS:-2}); do
    for model in bert rex; do
        dir=$BERT; [ $model = rex ] && dir=$REX
        run_variant splits $model-timed-$round "$dir" "$SHAPES"
        run_variant splits $model-forced2-$round "$dir" "$SHAPES" UNINLU_RESIDUAL_NORM=2
        run_variant splits $model-forced3-$round "$dir" "$SHAPES" UNINLU_RESIDUAL_NORM=3
    done
done
