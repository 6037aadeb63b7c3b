#!/usr/bin/env python3
"""CPU FP32 benchmark of RexUniNLU (DeBERTa-v2 base + rotary head): UniNLU against a NumPy forward.

What it does, in one run on one machine:
  1. checks the NumPy reference itself against upstream: it recomputes Z for recorded forwards of
     Tests/Fixtures/rex_uninlu (tiny model) and compares with the Z upstream recorded (max |diff|);
  2. writes a base-size RexUniNLU model directory (the report's §3.2 config: hidden 768, 12 layers,
     12 heads, FFN 3072, position_buckets 256, max_relative_positions -1, conv k=3; vocab.txt and
     tokenizer_config.json of the fixture; model.safetensors with the upstream tensor names and seeded
     random weights, rotary_emb.freqs = 10000^(-2m/768)) to a temporary directory;
  3. times UniNLU end to end through `uninlu predict --input` on NER requests whose text gives one
     window of about --tokens tokens (per request: (T(1 + N lines) - T(1 line)) / N, so model loading
     is not counted; tokenization and decoding are, they are small);
  4. times the NumPy forward (embeddings + 12 layers with c2p/p2c attention and the 2-D mask + conv +
     head) of the same model input: warm-up, then the median of N runs;
  5. prints and saves one JSON with both figures, the ratio numpy/uninlu (> 1: UniNLU is faster), and
     where it ran (CPU, cores, NumPy/BLAS, git commit, date).

Usage:
  scripts/bench_cpu_deberta.py [--uninlu .build/release/uninlu] [--tokens 128] [--requests 5]
                               [--iterations 5] [--seed 0] [--out bench/results/DATE-cpu-deberta-base.json]
Needs numpy and scipy.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
from scipy.special import erf

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(REPO, "Tests", "Fixtures", "rex_uninlu")

CONFIG = {
    "model_type": "deberta-v2", "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
    "intermediate_size": 3072, "hidden_act": "gelu", "layer_norm_eps": 1e-07, "max_position_embeddings": 512,
    "relative_attention": True, "position_buckets": 256, "max_relative_positions": -1, "norm_rel_ebd": "layer_norm",
    "share_att_key": True, "pos_att_type": ["c2p", "p2c"], "position_biased_input": False, "type_vocab_size": 0,
    "conv_kernel_size": 3, "conv_act": "gelu", "vocab_size": 12800, "pad_token_id": 0,
}


# ---------------------------------------------------------------------------------------------
# safetensors


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    header["__metadata__"] = {"format": "pt"}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)


def read_safetensors(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        assert entry["dtype"] == "F32", name
        start, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(data[start:end], dtype="<f4").reshape(entry["shape"])
    return tensors


# ---------------------------------------------------------------------------------------------
# NumPy RexUniNLU forward (utils_mod.py DebertaV2Model2dAttnMask + model.py RexModel), float32


class NumpyRex:
    def __init__(self, config, t):
        self.c, self.t = config, t
        self.heads = config["num_attention_heads"]
        self.eps = np.float32(config["layer_norm_eps"])
        self.span = config["position_buckets"]
        rel = self.layer_norm(t["plm.encoder.rel_embeddings.weight"], "plm.encoder.LayerNorm")
        self.rel = rel[: 2 * self.span]

    def layer_norm(self, x, name):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return ((x - mean) / np.sqrt(var + self.eps)) * self.t[name + ".weight"] + self.t[name + ".bias"]

    def linear(self, x, name):
        return x @ self.t[name + ".weight"].T + self.t[name + ".bias"]

    @staticmethod
    def gelu(x):
        return (0.5 * x * (1 + erf(x / np.sqrt(2)))).astype(np.float32)

    def relative_rows(self, positions):
        """Relative-embedding row of each pair: raw distances (max_relative_positions -1), clamped."""
        rel_pos = positions[:, None] - positions[None, :]
        return np.clip(rel_pos + self.span, 0, 2 * self.span - 1)

    def forward(self, ids, positions, mask):
        t, n, h = self.t, len(ids), self.c["hidden_size"]
        d = h // self.heads
        scale = np.float32(np.sqrt(d * 3))
        e = self.layer_norm(t["plm.embeddings.word_embeddings.weight"][ids], "plm.embeddings.LayerNorm")
        delta = self.relative_rows(positions)
        hidden = e
        for layer in range(self.c["num_hidden_layers"]):
            p = f"plm.encoder.layer.{layer}"
            q = self.linear(hidden, p + ".attention.self.query_proj").reshape(n, self.heads, d).transpose(1, 0, 2)
            k = self.linear(hidden, p + ".attention.self.key_proj").reshape(n, self.heads, d).transpose(1, 0, 2)
            v = self.linear(hidden, p + ".attention.self.value_proj").reshape(n, self.heads, d).transpose(1, 0, 2)
            qr = self.linear(self.rel, p + ".attention.self.query_proj").reshape(-1, self.heads, d).transpose(1, 0, 2)
            kr = self.linear(self.rel, p + ".attention.self.key_proj").reshape(-1, self.heads, d).transpose(1, 0, 2)
            scores = q @ k.transpose(0, 2, 1)
            c2p = np.take_along_axis(q @ kr.transpose(0, 2, 1), np.broadcast_to(delta, (self.heads, n, n)), axis=-1)
            p2c = np.take_along_axis(k @ qr.transpose(0, 2, 1), np.broadcast_to(delta.T, (self.heads, n, n)), axis=-1)
            scores = (scores + c2p + p2c.transpose(0, 2, 1)) / scale
            scores = np.where(mask[None] > 0, scores, np.float32(-3.4028235e38))
            probs = np.exp(scores - scores.max(-1, keepdims=True))
            probs = np.where(mask[None] > 0, probs / probs.sum(-1, keepdims=True), 0).astype(np.float32)
            ctx = (probs @ v).transpose(1, 0, 2).reshape(n, h)
            a = self.layer_norm(self.linear(ctx, p + ".attention.output.dense") + hidden, p + ".attention.output.LayerNorm")
            i = self.gelu(self.linear(a, p + ".intermediate.dense"))
            hidden = self.layer_norm(self.linear(i, p + ".output.dense") + a, p + ".output.LayerNorm")
            if layer == 0:
                w, b = t["plm.encoder.conv.conv.weight"], t["plm.encoder.conv.conv.bias"]
                k_size = w.shape[2]
                pad = (k_size - 1) // 2
                padded = np.pad(e, ((pad, pad), (0, 0)))
                conv = b + sum(padded[j: j + n] @ w[:, :, j].T for j in range(k_size))
                hidden = self.layer_norm(hidden + self.gelu(conv), "plm.encoder.conv.LayerNorm")
        freqs = t["rotary_emb.freqs"]
        angles = positions[:, None].astype(np.float32) * freqs[None, :]
        cos, sin = np.repeat(np.cos(angles), 2, -1), np.repeat(np.sin(angles), 2, -1)

        def rope(x):
            pairs = x.reshape(n, -1, 2)
            rotated = np.stack((-pairs[..., 1], pairs[..., 0]), -1).reshape(n, -1)
            return x * cos + rotated * sin

        return rope(self.linear(hidden, "ffnq")) @ rope(self.linear(hidden, "ffnk")).T


def decode_mask(rows):
    out = []
    for row in rows:
        values = []
        for run in row.split(","):
            value, count = run.split("x")
            values += [int(value)] * int(count)
        out.append(values)
    return np.array(out, dtype=np.int64)


def check_reference_on_fixture(limit=4):
    """Max |Z_numpy - Z_upstream| over recorded full matrices of the fixture (tiny model)."""
    with open(os.path.join(FIXTURE, "model", "config.json")) as f:
        config = json.load(f)
    model = NumpyRex(config, read_safetensors(os.path.join(FIXTURE, "model", "model.safetensors")))
    with open(os.path.join(FIXTURE, "cases.json")) as f:
        cases = json.load(f)["cases"]
    worst, checked = 0.0, 0
    for case in cases:
        for forward in case.get("forwards", []):
            if "Z_full_5sig" not in forward or checked >= limit:
                continue
            z = model.forward(np.array(forward["input_ids"]), np.array(forward["position_ids"]),
                              decode_mask(forward["attention_mask_rle"]))
            expected = np.array(forward["Z_full_5sig"], dtype=np.float64)
            worst = max(worst, float(np.max(np.abs(z - expected) / np.maximum(1, np.abs(expected)))))
            checked += 1
    return {"forwards_checked": checked, "max_relative_diff_vs_upstream_5sig": worst}


# ---------------------------------------------------------------------------------------------
# Base-size model


def make_weights(seed):
    rng = np.random.default_rng(seed)
    h, f, layers = CONFIG["hidden_size"], CONFIG["intermediate_size"], CONFIG["num_hidden_layers"]
    vocab = CONFIG["vocab_size"] + 4

    def normal(*shape, scale=0.02):
        return (rng.standard_normal(shape, dtype=np.float32) * scale).astype(np.float32)

    t = {
        "plm.embeddings.word_embeddings.weight": normal(vocab, h),
        "plm.embeddings.LayerNorm.weight": 1 + normal(h, scale=0.1), "plm.embeddings.LayerNorm.bias": normal(h),
        "plm.encoder.rel_embeddings.weight": normal(2 * CONFIG["position_buckets"], h, scale=1.0),
        "plm.encoder.LayerNorm.weight": 1 + normal(h, scale=0.1), "plm.encoder.LayerNorm.bias": normal(h),
        "plm.encoder.conv.conv.weight": normal(h, h, CONFIG["conv_kernel_size"]), "plm.encoder.conv.conv.bias": normal(h),
        "plm.encoder.conv.LayerNorm.weight": 1 + normal(h, scale=0.1), "plm.encoder.conv.LayerNorm.bias": normal(h),
        "ffnq.weight": normal(h, h), "ffnq.bias": normal(h), "ffnk.weight": normal(h, h), "ffnk.bias": normal(h),
        "rotary_emb.freqs": (1.0 / (10000 ** (np.arange(0, h, 2, dtype=np.float32) / h))).astype(np.float32),
    }
    for i in range(layers):
        p = f"plm.encoder.layer.{i}"
        for name, shape in [("attention.self.query_proj", (h, h)), ("attention.self.key_proj", (h, h)),
                            ("attention.self.value_proj", (h, h)), ("attention.output.dense", (h, h)),
                            ("intermediate.dense", (f, h)), ("output.dense", (h, f))]:
            t[f"{p}.{name}.weight"] = normal(*shape)
            t[f"{p}.{name}.bias"] = normal(shape[0])
        for name in ("attention.output.LayerNorm", "output.LayerNorm"):
            t[f"{p}.{name}.weight"] = 1 + normal(h, scale=0.1)
            t[f"{p}.{name}.bias"] = normal(h)
    return t


def write_model(directory, tensors):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=1)
    for name in ("vocab.txt", "tokenizer_config.json"):
        shutil.copy(os.path.join(FIXTURE, "model", name), os.path.join(directory, name))
    write_safetensors(os.path.join(directory, "model.safetensors"), tensors)


def rex_input(tokens):
    """A level-0 NER model input as the pipeline builds it: [CLS] [PREFIX] [TYPE] t1 [TYPE] t2 [SEP] text [SEP]."""
    prompt = [1, 12800, 12801, 348, 4224, 12801, 1410, 4392, 439, 5473]
    text_len = max(1, tokens - len(prompt) - 2)
    ids = np.array(prompt + [2] + [859 + (i % 500) for i in range(text_len)] + [2])
    positions = np.array([0, 1, 2, 3, 4, 2, 3, 4, 5, 6] + list(range(7, 7 + text_len + 2)))
    n = len(ids)
    mask = np.ones((n, n), dtype=np.int64)
    mask[2:5, 5:10] = 0
    mask[5:10, 2:5] = 0
    return ids, positions, mask


def time_numpy(model, tokens, iterations, warmup=1):
    ids, positions, mask = rex_input(tokens)
    for _ in range(warmup):
        model.forward(ids, positions, mask)
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        model.forward(ids, positions, mask)
        times.append(time.perf_counter() - start)
    return times


def time_uninlu(binary, model_dir, tokens, requests, rounds):
    text = "".join("北京上海广州深圳天津重庆南京杭州"[i % 16] for i in range(max(1, tokens - 13)))
    line = json.dumps({"text": text, "schema": {"人物": None, "地理位置": None}}, ensure_ascii=False)
    work = tempfile.mkdtemp(prefix="uninlu-bench-rex-")
    try:
        def run(count):
            path = os.path.join(work, f"in-{count}.jsonl")
            with open(path, "w") as f:
                f.write("\n".join([line] * count) + "\n")
            start = time.perf_counter()
            result = subprocess.run([binary, "predict", "--model", model_dir, "--backend", "cpu", "--input", path],
                                    capture_output=True, text=True)
            elapsed = time.perf_counter() - start
            if result.returncode != 0:
                sys.exit(f"uninlu failed ({result.returncode}): {result.stderr.strip()}")
            return elapsed
        per_request = []
        for _ in range(rounds):
            base = run(1)
            full = run(1 + requests)
            per_request.append((full - base) / requests)
        return per_request
    finally:
        shutil.rmtree(work, ignore_errors=True)


def summary(times):
    return {"median_s": float(np.median(times)), "min_s": float(np.min(times)), "samples": len(times)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uninlu", default=os.path.join(REPO, ".build", "release", "uninlu"))
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--requests", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out")
    args = parser.parse_args()

    reference_check = check_reference_on_fixture()
    print("numpy reference vs upstream (fixture):", reference_check)
    tensors = make_weights(args.seed)
    model_dir = tempfile.mkdtemp(prefix="uninlu-deberta-base-")
    try:
        write_model(model_dir, tensors)
        numpy_times = time_numpy(NumpyRex(CONFIG, tensors), args.tokens, args.iterations)
        swift_times = time_uninlu(args.uninlu, model_dir, args.tokens, args.requests, args.rounds)
    finally:
        shutil.rmtree(model_dir, ignore_errors=True)

    info = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(), "machine": platform.machine(),
            "cpu_count": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "unknown")
        info["git_commit"] = subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    document = {
        "benchmark": "cpu-deberta-v2-base-rex", "config": CONFIG, "tokens_per_forward": len(rex_input(args.tokens)[0]),
        "numpy_forward": summary(numpy_times),
        "uninlu_predict_per_request": summary(swift_times),
        "ratio_numpy_over_uninlu": float(np.median(numpy_times) / np.median(swift_times)),
        "note": "uninlu figure = one NER request (tokenize + 1 forward + decode), model loading excluded; numpy = forward only",
        "numpy_reference_check": reference_check, "where": info,
    }
    print(json.dumps(document, indent=1))
    out = args.out or os.path.join(REPO, "bench", "results",
                                   f"{datetime.date.today().isoformat()}-cpu-deberta-base.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(document, f, indent=1)
    print("wrote", out)


if __name__ == "__main__":
    main()
