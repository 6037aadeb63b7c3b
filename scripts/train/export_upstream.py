#!/usr/bin/env python3
"""Q4_0 safetensors model directory -> fp32 `pytorch_model.bin` directory in the upstream ModelScope SiameseUIE layout,
for users of the upstream Python pipeline (`pipeline('siamese-uie', model=OUT)`).

    python3 scripts/train/export_upstream.py Models/uninlu-siamese-zh-small /tmp/uninlu-siamese-zh-small-fp32

The weights are the exact dequantized Q4_0 values (value = (nibble - 8) * fp16 scale), so the upstream pipeline sees
the same numbers as UniNLU. Added for upstream's module tree: `plm.embeddings.position_ids` (ModelScope's BERT copy
keeps it as a persistent buffer) and a zero `plm.pooler.dense` (unused by SiameseUIE inference).
"""
import json, os, shutil, sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import load_state


def main(src, dst):
    os.makedirs(dst, exist_ok=True)
    cfg = json.load(open(os.path.join(src, "config.json")))
    sd = {k: v.float().contiguous() for k, v in load_state(os.path.join(src, "model.safetensors")).items()}
    H = cfg["hidden_size"]
    sd["plm.embeddings.position_ids"] = torch.arange(cfg["max_position_embeddings"], dtype=torch.long)[None]
    sd["plm.pooler.dense.weight"] = torch.zeros(H, H)
    sd["plm.pooler.dense.bias"] = torch.zeros(H)
    torch.save(sd, os.path.join(dst, "pytorch_model.bin"))
    for fn in ("config.json", "configuration.json", "tokenizer_config.json", "vocab.txt"):
        shutil.copy(os.path.join(src, fn), os.path.join(dst, fn))
    print(f"wrote {dst}/pytorch_model.bin ({os.path.getsize(os.path.join(dst, 'pytorch_model.bin')) / 1e6:.1f} MB, "
          f"{len(sd)} tensors)")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
