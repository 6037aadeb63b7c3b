#!/usr/bin/env python3
"""CPU FP32 benchmark: UniNLU's Swift encoder against a NumPy (OpenBLAS) forward of the same model.

What it does, in one run on one machine:
  1. writes a base-size BERT in the SiameseUIE layout (config.json: vocab 21128, hidden 768,
     12 layers, 12 heads, FFN 3072; model.safetensors with the upstream tensor names, random
     seeded weights) to a temporary directory, never into the repository;
  2. times a NumPy forward of the full encoder (embeddings + 12 layers, exact erf GELU, FP32) at
     each batch x sequence shape: warm-up, then the median of N runs;
  3. times the Swift encoder through `uninlu bench --model DIR --batch B --seq S --iterations N
     --json` (the same ids), alternating rounds with NumPy so that both see the same machine load;
  4. checks that both produce the same hidden states on the benchmark input (max |diff|, NMSE);
  5. prints and saves one JSON with both medians, the ratio numpy/swift (> 1: Swift is faster),
     and where it ran: CPU model, cores, NumPy and its BLAS (threadpoolctl), git commit, date.

OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, if set in the environment, force OpenBLAS onto a slower
kernel; this script removes them from its own environment before importing NumPy (so the NumPy
baseline is the fastest this machine gives) and records what they were. Nothing else is changed.

Usage:
  scripts/bench_cpu.py [--uninlu .build-cpu/release/uninlu] [--shapes 1x128,8x128]
                       [--iterations 10] [--rounds 3] [--seed 0] [--out bench/results/DATE-cpu-bert-base.json]
Needs numpy and scipy (threadpoolctl optional, for the BLAS kernel name).
"""

import argparse
import base64
import datetime
import json
import math
import os
import platform
import shutil
import struct
import subprocess
import sys
import tempfile
import time

REMOVED_OPENBLAS_ENV = {}
for _name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
    if _name in os.environ:
        REMOVED_OPENBLAS_ENV[_name] = os.environ.pop(_name)
# --threads N must reach OpenBLAS before NumPy loads it.
if "--threads" in sys.argv[:-1]:
    os.environ["OPENBLAS_NUM_THREADS"] = sys.argv[sys.argv.index("--threads") + 1]

import numpy as np  # noqa: E402  (after the environment fix on purpose)
from scipy.special import erf  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CONFIG = {
    "architectures": ["BertModel"],
    "attention_probs_dropout_prob": 0.1,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 768,
    "initializer_range": 0.02,
    "intermediate_size": 3072,
    "layer_norm_eps": 1e-12,
    "max_position_embeddings": 512,
    "model_type": "bert",
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "pad_token_id": 0,
    "position_embedding_type": "absolute",
    "type_vocab_size": 2,
    "vocab_size": 21128,
}
LOWER_LAYERS = 6  # SiameseUIE: layers 0-5 under plm.encoder.layer, 6-11 under crossattention.layer


# ---------------------------------------------------------------------------------------------
# Model


def layer_prefix(index):
    if index < LOWER_LAYERS:
        return f"plm.encoder.layer.{index}"
    return f"crossattention.layer.{index - LOWER_LAYERS}"


def make_weights(seed):
    """Random FP32 weights with BERT's init scale (N(0, 0.02), LayerNorm near 1/0)."""
    rng = np.random.default_rng(seed)
    h, f, v = CONFIG["hidden_size"], CONFIG["intermediate_size"], CONFIG["vocab_size"]

    def normal(*shape, scale=0.02):
        return (rng.standard_normal(shape, dtype=np.float32) * np.float32(scale)).astype(np.float32)

    def gamma(n):
        return (1 + normal(n, scale=0.1)).astype(np.float32)

    t = {}
    t["plm.embeddings.word_embeddings.weight"] = normal(v, h)
    t["plm.embeddings.position_embeddings.weight"] = normal(CONFIG["max_position_embeddings"], h)
    t["plm.embeddings.token_type_embeddings.weight"] = normal(CONFIG["type_vocab_size"], h)
    t["plm.embeddings.LayerNorm.weight"] = gamma(h)
    t["plm.embeddings.LayerNorm.bias"] = normal(h)
    for i in range(CONFIG["num_hidden_layers"]):
        p = layer_prefix(i)
        for name in ("query", "key", "value"):
            t[f"{p}.attention.self.{name}.weight"] = normal(h, h)
            t[f"{p}.attention.self.{name}.bias"] = normal(h)
        t[f"{p}.attention.output.dense.weight"] = normal(h, h)
        t[f"{p}.attention.output.dense.bias"] = normal(h)
        t[f"{p}.attention.output.LayerNorm.weight"] = gamma(h)
        t[f"{p}.attention.output.LayerNorm.bias"] = normal(h)
        t[f"{p}.intermediate.dense.weight"] = normal(f, h)
        t[f"{p}.intermediate.dense.bias"] = normal(f)
        t[f"{p}.output.dense.weight"] = normal(h, f)
        t[f"{p}.output.dense.bias"] = normal(h)
        t[f"{p}.output.LayerNorm.weight"] = gamma(h)
        t[f"{p}.output.LayerNorm.bias"] = normal(h)
    t["plm.pooler.dense.weight"] = normal(h, h)  # upstream has it; SiameseUIE never uses it
    t["plm.pooler.dense.bias"] = normal(h)
    t["head_clsf.weight"] = normal(1, h)
    t["head_clsf.bias"] = normal(1)
    t["tail_clsf.weight"] = normal(1, h)
    t["tail_clsf.bias"] = normal(1)
    return t


def write_safetensors(path, tensors):
    """The safetensors format: u64 header length, JSON header, then the raw little-endian data."""
    header, offset = {}, 0
    names = sorted(tensors)
    for name in names:
        a = tensors[name]
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for name in names:
            f.write(np.ascontiguousarray(tensors[name], dtype="<f4").tobytes())


def write_model(directory, tensors):
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=1)
    write_safetensors(os.path.join(directory, "model.safetensors"), tensors)


# ---------------------------------------------------------------------------------------------
# NumPy forward (FP32), the same graph as Sources/UniNLUModels/Bert/BertEncoder.swift


class NumpyEncoder:
    def __init__(self, t):
        h = CONFIG["hidden_size"]
        self.heads = CONFIG["num_attention_heads"]
        self.head_size = h // self.heads
        self.eps = np.float32(CONFIG["layer_norm_eps"])
        self.word = t["plm.embeddings.word_embeddings.weight"]
        self.position = t["plm.embeddings.position_embeddings.weight"]
        self.token_type = t["plm.embeddings.token_type_embeddings.weight"]
        self.embed_norm = (t["plm.embeddings.LayerNorm.weight"], t["plm.embeddings.LayerNorm.bias"])
        self.layers = []
        for i in range(CONFIG["num_hidden_layers"]):
            p = layer_prefix(i)
            # Weights pre-transposed once to [in x out] (contiguous), Q/K/V fused as in the Swift graph.
            wqkv = np.concatenate([t[f"{p}.attention.self.{n}.weight"] for n in ("query", "key", "value")], axis=0)
            bqkv = np.concatenate([t[f"{p}.attention.self.{n}.bias"] for n in ("query", "key", "value")])
            self.layers.append({
                "qkv": (np.ascontiguousarray(wqkv.T), bqkv),
                "attn_out": (np.ascontiguousarray(t[f"{p}.attention.output.dense.weight"].T), t[f"{p}.attention.output.dense.bias"]),
                "attn_norm": (t[f"{p}.attention.output.LayerNorm.weight"], t[f"{p}.attention.output.LayerNorm.bias"]),
                "ffn_in": (np.ascontiguousarray(t[f"{p}.intermediate.dense.weight"].T), t[f"{p}.intermediate.dense.bias"]),
                "ffn_out": (np.ascontiguousarray(t[f"{p}.output.dense.weight"].T), t[f"{p}.output.dense.bias"]),
                "out_norm": (t[f"{p}.output.LayerNorm.weight"], t[f"{p}.output.LayerNorm.bias"]),
            })

    def layer_norm(self, x, norm):
        mean = x.mean(axis=-1, keepdims=True)
        centered = x - mean
        variance = (centered * centered).mean(axis=-1, keepdims=True)
        return centered / np.sqrt(variance + self.eps) * norm[0] + norm[1]

    def forward(self, ids):
        """ids: [batch, seq] int; positions 0..seq-1, token type 0, no padding. Returns [batch*seq, 768]."""
        batch, seq = ids.shape
        x = self.word[ids] + self.position[np.arange(seq)][None, :, :] + self.token_type[0]
        x = self.layer_norm(x.reshape(batch * seq, -1), self.embed_norm)
        scale = np.float32(1 / math.sqrt(self.head_size))
        h = self.heads * self.head_size
        for layer in self.layers:
            qkv = x @ layer["qkv"][0] + layer["qkv"][1]
            qkv = qkv.reshape(batch, seq, 3, self.heads, self.head_size).transpose(2, 0, 3, 1, 4)  # 3,B,H,L,D
            scores = (qkv[0] @ qkv[1].transpose(0, 1, 3, 2)) * scale
            scores -= scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            context = (probs @ qkv[2]).transpose(0, 2, 1, 3).reshape(batch * seq, h)
            attended = self.layer_norm(context @ layer["attn_out"][0] + layer["attn_out"][1] + x, layer["attn_norm"])
            inner = attended @ layer["ffn_in"][0] + layer["ffn_in"][1]
            inner = np.float32(0.5) * inner * (np.float32(1) + erf(inner * np.float32(1 / math.sqrt(2))))
            x = self.layer_norm(inner @ layer["ffn_out"][0] + layer["ffn_out"][1] + attended, layer["out_norm"])
        return x


def time_numpy(encoder, ids, iterations, warmup):
    """Wall and process CPU time (all threads) of each forward, in ms."""
    for _ in range(warmup):
        encoder.forward(ids)
    times, cpu_times = [], []
    for _ in range(iterations):
        start, cpu_start = time.perf_counter(), time.process_time()
        encoder.forward(ids)
        times.append((time.perf_counter() - start) * 1e3)
        cpu_times.append((time.process_time() - cpu_start) * 1e3)
    return times, cpu_times


# ---------------------------------------------------------------------------------------------
# Swift side


def run_swift(binary, model_dir, batch, seq, iterations, warmup, seed, threads=None, dump=None):
    command = [binary, "bench", "--model", model_dir, "--batch", str(batch), "--seq", str(seq),
               "--iterations", str(iterations), "--warmup", str(warmup), "--seed", str(seed), "--json"]
    if dump:
        command += ["--dump-output", dump]
    env = dict(os.environ)
    if threads:
        env["UNINLU_CPU_THREADS"] = str(threads)
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit(f"uninlu bench failed ({result.returncode}):\n{' '.join(command)}\n{result.stderr}")
    return json.loads(result.stdout)


def read_dump(path):
    with open(path) as f:
        dump = json.load(f)
    output = np.frombuffer(base64.b64decode(dump["output_f32le_base64"]), dtype="<f4")
    return np.array(dump["ids"], dtype=np.int64), output.reshape(dump["rows"], dump["columns"])


# ---------------------------------------------------------------------------------------------
# Machine description


def machine_info(swift_threads):
    info = {"platform": platform.platform(), "python": platform.python_version(), "numpy": np.__version__}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info["logical_cpus"] = os.cpu_count()
    try:
        info["cpus_available"] = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    try:
        config = np.show_config(mode="dicts")
        blas = config.get("Build Dependencies", {}).get("blas", {})
        info["numpy_blas"] = {k: blas.get(k) for k in ("name", "version", "openblas configuration") if k in blas}
    except Exception as error:  # older NumPy
        info["numpy_blas"] = f"unavailable: {error}"
    try:
        import threadpoolctl
        info["threadpoolctl"] = [
            {k: pool.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "threading_layer", "filepath")}
            for pool in threadpoolctl.threadpool_info()
        ]
    except ImportError:
        info["threadpoolctl"] = "not installed (pip install threadpoolctl to record the OpenBLAS kernel)"
    info["openblas_env_removed"] = REMOVED_OPENBLAS_ENV
    info["load_average_1_5_15_min"] = os.getloadavg()
    info["swift_threads"] = swift_threads
    try:
        info["git_commit"] = subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout
        info["git_dirty"] = bool(dirty.strip())
    except OSError:
        pass
    try:
        info["swift"] = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.strip().splitlines()[0]
    except (OSError, IndexError):
        pass
    return info


def summary(times):
    ordered = sorted(times)
    return {
        "median_ms": ordered[len(ordered) // 2] if len(ordered) % 2 else (ordered[len(ordered) // 2 - 1] + ordered[len(ordered) // 2]) / 2,
        "min_ms": ordered[0],
        "p90_ms": ordered[min(len(ordered) - 1, int(math.ceil(0.9 * len(ordered))) - 1)],
        "mean_ms": sum(ordered) / len(ordered),
        "samples": len(ordered),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uninlu", default=os.path.join(REPO, ".build-cpu", "release", "uninlu"), help="the uninlu binary")
    parser.add_argument("--shapes", default="1x128,8x128", help="batch x sequence pairs, comma-separated")
    parser.add_argument("--iterations", type=int, default=10, help="timed runs per round and side")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs before each round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating NumPy / Swift rounds per shape")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights and the ids")
    parser.add_argument("--threads", type=int, help="threads for both sides (OPENBLAS_NUM_THREADS, UNINLU_CPU_THREADS); "
                        "default: each library's own choice (all cores)")
    parser.add_argument("--model-dir", help="reuse or keep the generated model here (default: a temp dir, deleted)")
    parser.add_argument("--out", help="result file (default: bench/results/<date>-cpu-bert-base.json)")
    args = parser.parse_args()

    if not os.path.exists(args.uninlu):
        sys.exit(f"{args.uninlu} not found: build it with `swift build -c release --scratch-path .build-cpu`")
    shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]

    temporary = None
    model_dir = args.model_dir
    if model_dir is None:
        temporary = tempfile.mkdtemp(prefix="uninlu-bench-")
        model_dir = temporary
    os.makedirs(model_dir, exist_ok=True)
    print(f"weights (seed {args.seed}) -> {model_dir}", file=sys.stderr)
    tensors = make_weights(args.seed)
    if not os.path.exists(os.path.join(model_dir, "model.safetensors")) or temporary:
        write_model(model_dir, tensors)
    encoder = NumpyEncoder(tensors)

    results = []
    swift_threads = None
    load_at_start = os.getloadavg()
    try:
        for batch, seq in shapes:
            print(f"{batch}x{seq}: checking agreement", file=sys.stderr)
            dump = os.path.join(model_dir, f"dump-{batch}x{seq}.json")
            first = run_swift(args.uninlu, model_dir, batch, seq, 1, 0, args.seed, threads=args.threads, dump=dump)
            swift_threads = first.get("threads")
            ids, swift_output = read_dump(dump)
            os.remove(dump)
            numpy_output = encoder.forward(ids)
            diff = np.abs(numpy_output.astype(np.float64) - swift_output.astype(np.float64))
            agreement = {
                "max_abs_diff": float(diff.max()),
                "mean_abs_diff": float(diff.mean()),
                "nmse": float((diff ** 2).sum() / (numpy_output.astype(np.float64) ** 2).sum()),
                "max_abs_value": float(np.abs(numpy_output).max()),
            }
            print(f"{batch}x{seq}: agreement {agreement}", file=sys.stderr)

            numpy_times, numpy_cpu, swift_times, swift_cpu, swift_reports = [], [], [], [], []
            for round_index in range(args.rounds):
                wall, cpu = time_numpy(encoder, ids, args.iterations, args.warmup)
                numpy_times += wall
                numpy_cpu += cpu
                report = run_swift(args.uninlu, model_dir, batch, seq, args.iterations, args.warmup, args.seed, threads=args.threads)
                swift_times += report["times_ms"]
                swift_cpu += report.get("cpu_times_ms", [])
                swift_reports.append({k: v for k, v in report.items() if k not in ("times_ms", "cpu_times_ms")})
                print(f"{batch}x{seq} round {round_index + 1}: numpy median {summary(numpy_times)['median_ms']:.1f} ms, "
                      f"swift median {summary(swift_times)['median_ms']:.1f} ms", file=sys.stderr)
            numpy_summary, swift_summary = summary(numpy_times), summary(swift_times)
            tokens = batch * seq
            entry = {
                "batch": batch,
                "seq": seq,
                "numpy": numpy_summary | {"tokens_per_s": tokens / numpy_summary["median_ms"] * 1e3, "times_ms": numpy_times,
                                          "cpu_median_ms": summary(numpy_cpu)["median_ms"], "cpu_times_ms": numpy_cpu},
                "swift": swift_summary | {"tokens_per_s": tokens / swift_summary["median_ms"] * 1e3, "times_ms": swift_times,
                                          "reports": swift_reports},
                "ratio_numpy_over_swift": numpy_summary["median_ms"] / swift_summary["median_ms"],
                "ratio_numpy_over_swift_min": numpy_summary["min_ms"] / swift_summary["min_ms"],
                "agreement": agreement,
            }
            if swift_cpu:
                entry["swift"] |= {"cpu_median_ms": summary(swift_cpu)["median_ms"], "cpu_times_ms": swift_cpu}
                entry["ratio_numpy_over_swift_cpu_time"] = entry["numpy"]["cpu_median_ms"] / entry["swift"]["cpu_median_ms"]
            results.append(entry)
    finally:
        if temporary:
            shutil.rmtree(temporary, ignore_errors=True)

    now = datetime.datetime.now(datetime.timezone.utc)
    document = {
        "benchmark": "cpu-bert-base-encoder",
        "description": "full 12-layer BERT-base encoder forward (embeddings + 12 layers), FP32, random ids, no padding; "
                       "Swift: `uninlu bench` (SiameseUIEModel<CPUKernels>.encoder); NumPy: the same graph, fused QKV, "
                       "pre-transposed weights, exact erf GELU",
        "date": now.isoformat(timespec="seconds"),
        "machine": machine_info(swift_threads) | {"load_average_at_start": load_at_start},
        "settings": {"iterations_per_round": args.iterations, "warmup": args.warmup, "rounds": args.rounds, "seed": args.seed,
                     "threads": args.threads or "default (all cores)"},
        "results": results,
    }
    out = args.out or os.path.join(REPO, "bench", "results", f"{now.date().isoformat()}-cpu-bert-base.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(document, f, indent=1)
        f.write("\n")
    print(f"{'shape':>8} {'numpy ms':>10} {'swift ms':>10} {'numpy/swift':>12} {'min ratio':>10} {'cpu ratio':>10} {'max|diff|':>10}")
    for r in results:
        print(f"{r['batch']}x{r['seq']:<6} {r['numpy']['median_ms']:10.1f} {r['swift']['median_ms']:10.1f} "
              f"{r['ratio_numpy_over_swift']:12.2f} {r['ratio_numpy_over_swift_min']:10.2f} "
              f"{r.get('ratio_numpy_over_swift_cpu_time', float('nan')):10.2f} {r['agreement']['max_abs_diff']:10.2e}")
    print(f"saved {out}")


if __name__ == "__main__":
    main()
