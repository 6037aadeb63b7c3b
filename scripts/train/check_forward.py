#!/usr/bin/env python3
"""Checks that model.py + evaluate.py reproduce the upstream ModelScope pipeline: runs the golden SiameseUIE fixture
cases (tiny random weights, upstream outputs recorded) and compares outputs and merged logits.

    python3 scripts/train/check_forward.py [shared/fixtures/siamese_uie]
"""
import json, os, sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from evaluate import Predictor, load_tokenizer
from model import build_model, load_state

fx = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/fixtures/siamese_uie"
mdir = os.path.join(fx, "model")
cfg = json.load(open(os.path.join(mdir, "config.json")))
state = {k: v for k, v in load_state(os.path.join(mdir, "model.safetensors")).items()
         if not k.startswith("plm.pooler") and not k.endswith("position_ids")}
model = build_model(state, cfg, dropout=0.0).eval()
torch.set_num_threads(1)
pred = Predictor(model, load_tokenizer(mdir), "cpu")
cases = json.load(open(os.path.join(fx, "cases.json")))["cases"]
ok = bad = skipped = 0
maxdiff = 0.0
for c in cases:
    if "error" in c or not c.get("text"):
        skipped += 1; continue
    schema = json.loads(c["schema"]) if isinstance(c["schema"], str) else c["schema"]
    out = pred.predict(c["text"], schema, **c.get("call_kwargs", {}))
    same = out == c["output"]
    ok += same; bad += not same
    if not same:
        print("MISMATCH", c["id"], json.dumps(out, ensure_ascii=False)[:300], "\n   gold", json.dumps(c["output"], ensure_ascii=False)[:300])
print(f"{ok} passed, {bad} failed, {skipped} skipped (error/empty cases)")
sys.exit(1 if bad else 0)
