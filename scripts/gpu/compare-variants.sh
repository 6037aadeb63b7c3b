#!/usr/bin/env bash
# Kernel variants side by side, one process per (model, shapes, variant), alternating over ROUNDS so
# that drift between calls shows. Small batches (SHAPES, default 1x128,2x128,4x128,8x128,16x128):
#   - default: BERT's 64-query attention blocks at every batch size, DeBERTa's wide kernel from half
#     the SM count in items, autotunes timed behind a stream hold;
#   - the earlier attention rules: UNINLU_ATTENTION_WIDE_ITEMS=264, UNINLU_DEBERTA_WIDE_ITEMS=264
#     (twice the H200's 132 SMs);
#   - UNINLU_GEMM_CANDIDATES=16: the GEMM autotune over 16 of cuBLASLt's candidates instead of 6;
#   - UNINLU_RESIDUAL_NORM=unfused: GEMM then LayerNorm always.
# WIDE=1 adds one default run of each model at 128x128 and 8x512.
# The previous form (bench/results/2026-12-03-variants-small-hold-h200.txt) compared the autotunes
# timed as the host issues the runs (UNINLU_TIMING_HOLD=0), forced split counts
# (UNINLU_RESIDUAL_NORM=1|2|4) and the wide kernels forced at small batches. Earlier forms compared
# the 64-key BERT attention tiles with 16-key ones (UNINLU_ATTENTION=tiles16), the DeBERTa kernel
# fetching rows a tile ahead with the one fetching them as the tile starts
# (UNINLU_DEBERTA_ATTENTION=tcr; bench/results/2026-12-03-variants-rex-tcp-h200.txt), programmatic
# dependent launch (bench/results/2026-12-03-variants-k64-pdl-h200.txt) and 8-warp BERT blocks
# (bench/results/2026-12-03-variants-k64-w8-h200.txt). Uses the models run-checks.sh makes
# (/tmp/bench-model, /tmp/bench-rex; made here when missing). Prints each run's graph medians and
# the chosen split counts, and writes each run's JSON under $OUT/variants-*.json.
# Usage (device, repository root, carried binary): bash scripts/gpu/compare-variants.sh   [ROUNDS=2] [ONLY=bert|rex] [WIDE=1]
set -u -o pipefail
. scripts/gpu/variant-runs.sh
run() {   # name model shapes env...
    run_variant variants "$@"
}
SHAPES=${SHAPES:-1x128,2x128,4x128,8x128,16x128}
for round in $(seq 1 ${ROUNDS:-2}); do
    if [ "${ONLY:-}" != rex ]; then
        run "bert-default-$round" "$BERT" "$SHAPES"
        run "bert-wide264-$round" "$BERT" "$SHAPES" UNINLU_ATTENTION_WIDE_ITEMS=264
        run "bert-gemm16-$round" "$BERT" "$SHAPES" UNINLU_GEMM_CANDIDATES=16
        run "bert-unfused-$round" "$BERT" "$SHAPES" UNINLU_RESIDUAL_NORM=unfused
    fi
    if [ "${ONLY:-}" != bert ]; then
        run "rex-default-$round" "$REX" "$SHAPES"
        run "rex-wide264-$round" "$REX" "$SHAPES" UNINLU_DEBERTA_WIDE_ITEMS=264
        run "rex-gemm16-$round" "$REX" "$SHAPES" UNINLU_GEMM_CANDIDATES=16
        run "rex-unfused-$round" "$REX" "$SHAPES" UNINLU_RESIDUAL_NORM=unfused
    fi
done
if [ "${WIDE:-0}" = 1 ]; then
    run bert-wide "$BERT" 128x128,8x512
    run rex-wide "$REX" 128x128,8x512
fi
