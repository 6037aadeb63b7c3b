#!/usr/bin/env python3
"""Expected Z for RexBucketedGraphTests: a NumPy re-implementation of the RexUniNLU forward (the one in
bench_cpu_deberta.py, itself checked against upstream's recorded Z) on a small synthetic model that takes
the log-bucketed relative-position path (position_buckets 16, max_relative_positions 24), which the
upstream fixture (max_relative_positions -1) never exercises.

Weights come from a formula both this script and the Swift test evaluate (math.sin in float64, then
float32), so no weight file is stored. Prints the Swift array literal of Z (row-major, N x N).
"""

import importlib.util
import math
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("bench", os.path.join(HERE, "bench_cpu_deberta.py"))
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

H, HEADS, FFN, LAYERS, VOCAB, BUCKETS, MAX_REL, K = 64, 2, 96, 2, 40, 16, 24, 3
CONFIG = {
    "model_type": "deberta-v2", "hidden_size": H, "num_hidden_layers": LAYERS, "num_attention_heads": HEADS,
    "intermediate_size": FFN, "hidden_act": "gelu", "layer_norm_eps": 1e-07, "max_position_embeddings": 512,
    "relative_attention": True, "position_buckets": BUCKETS, "max_relative_positions": MAX_REL,
    "norm_rel_ebd": "layer_norm", "share_att_key": True, "pos_att_type": ["c2p", "p2c"],
    "position_biased_input": False, "type_vocab_size": 0, "conv_kernel_size": K, "conv_act": "gelu", "vocab_size": VOCAB,
}


def value(name, shape):
    seed = sum(name.encode())
    count = int(np.prod(shape))
    base = np.array([math.sin(0.37 * i + 0.011 * seed) for i in range(count)], dtype=np.float64)
    if name.endswith("LayerNorm.weight"):
        v = 1 + 0.1 * base
    elif name.endswith("LayerNorm.bias") or name.endswith(".bias"):
        v = 0.1 * base
    elif name.endswith("embeddings.weight"):
        v = base
    elif name == "plm.encoder.conv.conv.weight":
        v = base / math.sqrt(H * K)
    elif name == "rotary_emb.freqs":
        v = np.array([1.0 / 10000 ** (2.0 * m / H) for m in range(H // 2)])
    else:
        gain = 2.0 if ("query_proj" in name or "key_proj" in name) else (1.0 if name.startswith("ffn") else 0.5)
        v = base * gain / math.sqrt(shape[1])
    return v.astype(np.float32).reshape(shape)


def shapes():
    s = {"plm.embeddings.word_embeddings.weight": (VOCAB + 4, H), "plm.embeddings.LayerNorm.weight": (H,),
         "plm.embeddings.LayerNorm.bias": (H,), "plm.encoder.rel_embeddings.weight": (2 * BUCKETS, H),
         "plm.encoder.LayerNorm.weight": (H,), "plm.encoder.LayerNorm.bias": (H,),
         "plm.encoder.conv.conv.weight": (H, H, K), "plm.encoder.conv.conv.bias": (H,),
         "plm.encoder.conv.LayerNorm.weight": (H,), "plm.encoder.conv.LayerNorm.bias": (H,),
         "ffnq.weight": (H, H), "ffnq.bias": (H,), "ffnk.weight": (H, H), "ffnk.bias": (H,), "rotary_emb.freqs": (H // 2,)}
    for i in range(LAYERS):
        p = f"plm.encoder.layer.{i}"
        for name, shape in [("attention.self.query_proj", (H, H)), ("attention.self.key_proj", (H, H)),
                            ("attention.self.value_proj", (H, H)), ("attention.output.dense", (H, H)),
                            ("intermediate.dense", (FFN, H)), ("output.dense", (H, FFN))]:
            s[f"{p}.{name}.weight"] = shape
            s[f"{p}.{name}.bias"] = (shape[0],)
        for name in ("attention.output.LayerNorm", "output.LayerNorm"):
            s[f"{p}.{name}.weight"] = (H,)
            s[f"{p}.{name}.bias"] = (H,)
    return s


def log_bucket(r, buckets, max_position):
    """HF make_log_bucket_position in float32, as torch evaluates it."""
    sign = np.sign(r)
    mid = buckets // 2
    abs_pos = np.where((r < mid) & (r > -mid), mid - 1, np.abs(r))
    x = (abs_pos.astype(np.float32) / np.float32(mid)).astype(np.float32)
    log_pos = np.ceil((np.log(x) / np.log(np.float32((max_position - 1) / mid))).astype(np.float32)
                      * np.float32(mid - 1)).astype(np.float32) + np.float32(mid)
    return np.where(abs_pos <= mid, r, log_pos * sign).astype(np.int64)


class BucketedRex(bench.NumpyRex):
    def relative_rows(self, positions):
        rel = log_bucket(positions[:, None] - positions[None, :], BUCKETS, MAX_REL)
        return np.clip(rel + self.span, 0, 2 * self.span - 1)


def job():
    n = 24
    ids = np.array([(7 * i + 3) % (VOCAB + 4) for i in range(n)])
    positions = np.array([0, 1, 2, 3, 2, 3, 4] + list(range(5, 17)) + list(range(30, 35)))
    mask = np.ones((n, n), dtype=np.int64)
    mask[1:4, 4:7] = 0
    mask[4:7, 1:4] = 0
    return ids, positions, mask


def main():
    tensors = {name: value(name, shape) for name, shape in shapes().items()}
    ids, positions, mask = job()
    z = BucketedRex(CONFIG, tensors).forward(ids, positions, mask)
    flat = [repr(float(np.float32(x))) for x in z.reshape(-1)]
    print("    static let expected: [Float] = [")
    for i in range(0, len(flat), 8):
        print("        " + ", ".join(flat[i:i + 8]) + ",")
    print("    ]")


if __name__ == "__main__":
    main()
