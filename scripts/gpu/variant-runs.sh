#!/usr/bin/env bash
# Sourced by scripts/gpu/small-batch.sh and compare-variants.sh (device, repository root): $OUT, the
# carried binary in $BIN, the random base-size models run-checks.sh makes ($BERT, $REX; made here
# when missing), and run_variant, which times one variant in a process of its own.
OUT=${OUT:-/tmp/uninlu-out}
mkdir -p "$OUT"
BIN=${UNINLU_BIN:-/tmp/uninlu}
[ -x "$BIN" ] || { xz -dc .carry/uninlu.xz > "$BIN" && chmod +x "$BIN"; } || { echo "no carried binary"; exit 2; }
BERT=/tmp/bench-model REX=/tmp/bench-rex
[ -d "$BERT" ] || timeout 120 python3 scripts/gpu/bench_bert.py make-model "$BERT" Tests/Fixtures/siamese_uie/model > /dev/null 2>&1
[ -d "$REX" ] || timeout 120 python3 scripts/gpu/bench_deberta.py make-model "$REX" Tests/Fixtures/rex_uninlu/model > /dev/null 2>&1
# run_variant PREFIX NAME MODEL SHAPES [ENV=VALUE...]: `uninlu bench` (CUDA, FP16) with that environment,
# its JSON and log under $OUT/PREFIX-NAME.*, its medians printed.
run_variant() {
    local prefix=$1 name=$2 model=$3 shapes=$4; shift 4
    env "$@" timeout 120 "$BIN" bench --model "$model" --backend cuda --precision fp16 --shapes "$shapes" \
        --iterations 100 --warmup 20 --output "$OUT/$prefix-$name.json" > "$OUT/$prefix-$name.txt" 2>&1
    echo "== $name ($*)"; grep -E "graph replay median|LayerNorm:" "$OUT/$prefix-$name.txt" | sed -E "s/^bench: (rex )?encoder //; s/ \(max .*//; s/linear \+ residual \+ LayerNorm: //" | head -16
}
