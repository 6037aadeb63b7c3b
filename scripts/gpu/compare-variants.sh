#!/usr/bin/env bash
# Kernel variants side by side, one process per (model, shapes, variant), alternating over ROUNDS so
# that drift between calls shows:
#   - BERT at wide batches: 64-key attention tiles (default) against 16-key ones (UNINLU_ATTENTION=tiles16);
#   - Rex at wide batches: the DeBERTa kernel fetching each tile's relative indices and rows one tile
#     ahead (default) against fetching them as the tile starts (UNINLU_DEBERTA_ATTENTION=tcr);
#   - both models' small batches as they are.
# Earlier forms of this script compared programmatic dependent launch (UNINLU_PDL=0,
# bench/results/2026-12-03-variants-k64-pdl-h200.txt) and 8-warp BERT blocks (UNINLU_ATTENTION=warps4,
# bench/results/2026-12-03-variants-k64-w8-h200.txt), both since removed. Uses the models
# run-checks.sh makes (/tmp/bench-model, /tmp/bench-rex; made here when missing). Prints each run's
# graph medians and writes each run's JSON under $OUT/variants-*.json.
# Usage (device, repository root, carried binary): bash scripts/gpu/compare-variants.sh   [ROUNDS=2] [ONLY=bert|rex]
set -u -o pipefail
. scripts/gpu/variant-runs.sh
run() {   # name model shapes env...
    run_variant variants "$@"
}
for round in $(seq 1 ${ROUNDS:-2}); do
    if [ "${ONLY:-}" != rex ]; then
        run "bert-small-$round" "$BERT" 1x128,16x128
        run "bert-wide-k64-$round" "$BERT" 128x128,8x512
        run "bert-wide-tiles16-$round" "$BERT" 128x128,8x512 UNINLU_ATTENTION=tiles16
    fi
    if [ "${ONLY:-}" != bert ]; then
        run "rex-small-$round" "$REX" 1x128,16x128
        run "rex-wide-tcp-$round" "$REX" 128x128,8x512
        run "rex-wide-tcr-$round" "$REX" 128x128,8x512 UNINLU_DEBERTA_ATTENTION=tcr
    fi
done
