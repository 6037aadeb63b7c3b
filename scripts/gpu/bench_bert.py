#!/usr/bin/env python3
"""GPU benchmark baselines for UniNLU (run on the GPU machine by scripts/gpu/run-checks.sh).

  make-model DIR   random base-size SiameseUIE checkpoint (BERT 12x768, FFN 3072, vocab 21128) in the
                   upstream layout, so that UniNLU and PyTorch run the very same weights.
  torch DIR        PyTorch FP16 eager (sdpa) and torch.compile(mode="reduce-overhead") on that BERT at
                   1x128, 16x128, 128x128, 8x512 (CUDA events, median of 50 after warm-up), plus the
                   end-to-end latency of one SiameseUIE request (short text, flat 4-label schema) through a
                   faithful PyTorch re-implementation of the upstream pipeline (tokenize, lower 6 layers on
                   the text once, all hints of the level batched and padded, upper 6 layers over
                   [text; hint], pointer heads, raw-logit > 0.5 span decoding).
  merge ...        joins UniNLU's JSON and PyTorch's into bench/results JSON with ratios; prints a table.
"""
import json, os, shutil, statistics, subprocess, sys, time

SHAPES = [(1, 128), (16, 128), (128, 128), (8, 512)]
TEXT = "帮我定一张明天去上海的机票"
LABELS = ["出发地", "目的地", "时间", "人物"]
CONFIG = {"architectures": ["BertModel"], "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu",
          "hidden_dropout_prob": 0.1, "hidden_size": 768, "initializer_range": 0.02, "intermediate_size": 3072,
          "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "model_type": "bert", "num_attention_heads": 12,
          "num_hidden_layers": 12, "pad_token_id": 0, "position_embedding_type": "absolute", "type_vocab_size": 2,
          "vocab_size": 21128}


def make_model(out, fixture_dir):
    import torch
    from safetensors.torch import save_file
    torch.manual_seed(20261125)
    os.makedirs(out, exist_ok=True)
    h, f, v = 768, 3072, 21128
    sd = {}
    def n(*shape, std=0.02):
        return (torch.randn(*shape) * std).contiguous()
    sd["plm.embeddings.word_embeddings.weight"] = n(v, h)
    sd["plm.embeddings.position_embeddings.weight"] = n(512, h)
    sd["plm.embeddings.token_type_embeddings.weight"] = n(2, h)
    sd["plm.embeddings.LayerNorm.weight"] = torch.ones(h)
    sd["plm.embeddings.LayerNorm.bias"] = torch.zeros(h)
    for i in range(12):
        p = f"plm.encoder.layer.{i}" if i < 6 else f"crossattention.layer.{i - 6}"
        for name in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"]:
            sd[f"{p}.{name}.weight"] = n(h, h); sd[f"{p}.{name}.bias"] = n(h)
        sd[f"{p}.intermediate.dense.weight"] = n(f, h); sd[f"{p}.intermediate.dense.bias"] = n(f)
        sd[f"{p}.output.dense.weight"] = n(h, f); sd[f"{p}.output.dense.bias"] = n(h)
        for ln in ["attention.output.LayerNorm", "output.LayerNorm"]:
            sd[f"{p}.{ln}.weight"] = torch.ones(h); sd[f"{p}.{ln}.bias"] = torch.zeros(h)
    sd["plm.pooler.dense.weight"] = n(h, h); sd["plm.pooler.dense.bias"] = n(h)
    # Heads scaled so that a few tokens cross the raw-logit threshold 0.5 (as the fixtures do).
    sd["head_clsf.weight"] = n(1, h, std=0.15); sd["head_clsf.bias"] = torch.tensor([-1.0])
    sd["tail_clsf.weight"] = n(1, h, std=0.15); sd["tail_clsf.bias"] = torch.tensor([-1.0])
    save_file(sd, os.path.join(out, "model.safetensors"))
    json.dump(CONFIG, open(os.path.join(out, "config.json"), "w"), indent=1)
    for name in ["vocab.txt", "tokenizer_config.json", "configuration.json"]:
        shutil.copy(os.path.join(fixture_dir, name), os.path.join(out, name))
    print(f"wrote {out}")


def load_state(model_dir):
    from safetensors.torch import load_file
    return load_file(os.path.join(model_dir, "model.safetensors"))


def bert_from_state(state):
    import torch
    from transformers import BertConfig, BertModel
    cfg = BertConfig(**{k: v for k, v in CONFIG.items() if k not in ("architectures", "model_type")})
    try:
        cfg._attn_implementation = "sdpa"
    except Exception:
        pass
    model = BertModel(cfg, add_pooling_layer=False)
    print("torch BertModel attention:", getattr(model.config, "_attn_implementation", "?"), flush=True)
    mapped = {}
    for k, t in state.items():
        if k.startswith("plm.embeddings."):
            mapped[k[len("plm."):]] = t
        elif k.startswith("plm.encoder.layer."):
            mapped[k[len("plm."):]] = t
        elif k.startswith("crossattention.layer."):
            rest = k[len("crossattention.layer."):]
            i, tail = rest.split(".", 1)
            mapped[f"encoder.layer.{int(i) + 6}.{tail}"] = t
    missing, unexpected = model.load_state_dict(mapped, strict=False)
    missing = [m for m in missing if "position_ids" not in m]
    assert not missing, missing
    return model.half().cuda().eval()


def time_cuda(fn, warmup=10, iters=50):
    import torch
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    samples = []
    for _ in range(iters):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record(); fn(); e.record(); e.synchronize()
        samples.append(s.elapsed_time(e))
    return statistics.median(samples), min(samples), statistics.pstdev(samples)


class TorchSiameseUIE:
    """The upstream SiameseUIE computation in plain PyTorch ops, on the same weights (FP16)."""

    def __init__(self, state, model_dir):
        import torch
        from transformers import BertTokenizerFast
        self.torch = torch
        self.w = {k: t.half().cuda() for k, t in state.items() if not k.endswith("position_ids")}
        self.tok = BertTokenizerFast(vocab_file=os.path.join(model_dir, "vocab.txt"), do_lower_case=True)
        self.layers = [f"plm.encoder.layer.{i}" for i in range(6)] + [f"crossattention.layer.{i}" for i in range(6)]

    def embed(self, ids, positions, types):
        F = self.torch.nn.functional
        w = self.w
        x = w["plm.embeddings.word_embeddings.weight"][ids] + w["plm.embeddings.position_embeddings.weight"][positions] \
            + w["plm.embeddings.token_type_embeddings.weight"][types]
        return F.layer_norm(x, (768,), w["plm.embeddings.LayerNorm.weight"], w["plm.embeddings.LayerNorm.bias"], 1e-12)

    def layer(self, x, p, mask):
        F = self.torch.nn.functional
        w = self.w
        b, l, _ = x.shape
        def lin(t, name):
            return F.linear(t, w[f"{p}.{name}.weight"], w[f"{p}.{name}.bias"])
        q, k, v = (lin(x, f"attention.self.{n}").view(b, l, 12, 64).transpose(1, 2) for n in ("query", "key", "value"))
        ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=mask).transpose(1, 2).reshape(b, l, 768)
        a = F.layer_norm(lin(ctx, "attention.output.dense") + x, (768,), w[f"{p}.attention.output.LayerNorm.weight"],
                         w[f"{p}.attention.output.LayerNorm.bias"], 1e-12)
        i = F.gelu(lin(a, "intermediate.dense"))
        return F.layer_norm(lin(i, "output.dense") + a, (768,), w[f"{p}.output.LayerNorm.weight"], w[f"{p}.output.LayerNorm.bias"], 1e-12)

    def additive(self, mask):
        return ((1.0 - mask[:, None, None, :].half()) * -10000.0)

    def predict(self, text, labels):
        torch = self.torch
        enc = self.tok(text, return_offsets_mapping=True)
        ids = torch.tensor([enc["input_ids"]], device="cuda")
        lw = ids.shape[1]
        tmask = torch.ones_like(ids)
        x = self.embed(ids, torch.arange(lw, device="cuda")[None], torch.zeros_like(ids))
        for p in self.layers[:6]:
            x = self.layer(x, p, self.additive(tmask))
        hints = [self.tok(label)["input_ids"] for label in labels]
        lh = max(len(h) for h in hints)
        hid = torch.tensor([h + [0] * (lh - len(h)) for h in hints], device="cuda")
        hmask = torch.tensor([[1] * len(h) + [0] * (lh - len(h)) for h in hints], device="cuda")
        hx = self.embed(hid, (lw + torch.arange(lh, device="cuda"))[None].expand(len(hints), lh), torch.ones_like(hid))
        for p in self.layers[:6]:
            hx = self.layer(hx, p, self.additive(hmask))
        joined = torch.cat([x.expand(len(hints), lw, 768), hx], dim=1)
        jmask = torch.cat([tmask.expand(len(hints), lw), hmask], dim=1)
        for p in self.layers[6:]:
            joined = self.layer(joined, p, self.additive(jmask))
        t = joined[:, :lw]
        head = torch.nn.functional.linear(t, self.w["head_clsf.weight"], self.w["head_clsf.bias"])[..., 0].float().cpu().tolist()
        tail = torch.nn.functional.linear(t, self.w["tail_clsf.weight"], self.w["tail_clsf.bias"])[..., 0].float().cpu().tolist()
        offsets = enc["offset_mapping"]
        out = []
        for li, label in enumerate(labels):
            for i in range(1, lw - 1):
                if head[li][i] > 0.5:
                    for j in range(i, lw - 1):
                        if tail[li][j] > 0.5:
                            out.append([{"type": label, "span": text[offsets[i][0]:offsets[j][1]], "offset": [offsets[i][0], offsets[j][1]]}])
                            break
        return {"output": out}


def torch_bench(model_dir, out_path, compile_modes):
    import torch
    torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction = True
    state = load_state(model_dir)
    result = {"torch": torch.__version__, "device": torch.cuda.get_device_name(0), "encoder": {}, "end_to_end": {}}
    model = bert_from_state(state)
    g = torch.Generator(device="cuda").manual_seed(7)
    for mode in ["eager"] + compile_modes:
        fn = model if mode == "eager" else torch.compile(model, mode=mode)
        for b, s in SHAPES:
            ids = torch.randint(0, 21128, (b, s), device="cuda", generator=g)
            with torch.inference_mode():
                t0 = time.time()
                try:
                    med, mn, sd = time_cuda(lambda: fn(input_ids=ids))
                except Exception as e:  # a failing baseline is reported, not fatal
                    print(f"torch {mode} {b}x{s}: {e}", flush=True)
                    continue
            key = f"{b}x{s}"
            result["encoder"].setdefault(key, {})[mode] = {"median_ms": med, "min_ms": mn, "stddev_ms": sd, "wall_s": time.time() - t0}
            print(f"torch {mode:16s} {key:8s} median {med:8.3f} ms", flush=True)
    del model
    torch.cuda.empty_cache()
    try:
        pipe = TorchSiameseUIE(state, model_dir)
        with torch.inference_mode():
            first = pipe.predict(TEXT, LABELS)
            for _ in range(20):
                pipe.predict(TEXT, LABELS)
            samples = []
            for _ in range(100):
                t = time.perf_counter(); pipe.predict(TEXT, LABELS); samples.append((time.perf_counter() - t) * 1000)
        result["end_to_end"] = {"median_ms": statistics.median(samples), "min_ms": min(samples), "output": first,
                                "text": TEXT, "labels": LABELS, "impl": "plain PyTorch FP16 ops (sdpa), upstream structure"}
        print(f"torch end-to-end median {statistics.median(samples):.3f} ms", flush=True)
    except Exception as e:
        print(f"torch end-to-end failed: {e}", flush=True)
        result["end_to_end"] = {"error": str(e)}
    json.dump(result, open(out_path, "w"), indent=1, ensure_ascii=False)


def merge(uninlu_path, torch_path, out_path, commit):
    u = json.load(open(uninlu_path)) if os.path.exists(uninlu_path) else {}
    t = json.load(open(torch_path)) if os.path.exists(torch_path) else {}
    floors_ms = {"1x128": 0.057}  # weights stream once per forward at ~3.0 TB/s
    rows = []
    ushapes = {r["shape"]: r for r in u.get("encoder", {}).get("shapes", [])}
    # The attention-kernel variants run-checks.sh times beside the default (same directory).
    variants = {}
    for name, suffix in [("per_warp_tiles", "fp16-perwarp-attention"), ("fma", "fp16-fma-attention")]:
        path = os.path.join(os.path.dirname(uninlu_path) or ".", f"uninlu-bench-{suffix}.json")
        if os.path.exists(path):
            variants[name] = {r["shape"]: r for r in json.load(open(path)).get("encoder", {}).get("shapes", [])}
    for b, s in SHAPES:
        key = f"{b}x{s}"
        ours = ushapes.get(key, {}).get("median_ms")
        graph = ushapes.get(key, {}).get("graph_median_ms")
        tt = t.get("encoder", {}).get(key, {})
        eager = tt.get("eager", {}).get("median_ms")
        comp = tt.get("reduce-overhead", {}).get("median_ms")
        tokens = b * s
        compute_floor = tokens * 175e6 / 800e12 * 1000
        floor = max(floors_ms.get(key, 0.057), compute_floor)
        best = min([v for v in (ours, graph) if v] or [None]) if (ours or graph) else None
        best_torch = min([v for v in (eager, comp) if v] or [None]) if (eager or comp) else None
        rows.append({"shape": key, "uninlu_fp16_ms": ours, "uninlu_fp16_graph_ms": graph, "torch_eager_fp16_ms": eager, "torch_compile_fp16_ms": comp,
                     "best_vs_best": (best_torch / best) if best and best_torch else None,
                     "speedup_vs_eager": (eager / ours) if ours and eager else None,
                     "speedup_vs_compile": (comp / ours) if ours and comp else None,
                     "floor_ms": floor, "times_floor": (ours / floor) if ours else None,
                     "attention_variants": {name: {"eager_ms": v[key].get("median_ms"), "graph_ms": v[key].get("graph_median_ms")}
                                            for name, v in variants.items() if key in v}})
    e2e = {"uninlu_ms": u.get("end_to_end", {}).get("median_ms"), "torch_ms": t.get("end_to_end", {}).get("median_ms"),
           "uninlu_op_by_op_ms": u.get("end_to_end_op_by_op", {}).get("median_ms"),
           "uninlu_cuda_graphs": u.get("end_to_end", {}).get("cuda_graphs")}
    if e2e["uninlu_ms"] and e2e["torch_ms"]:
        e2e["speedup"] = e2e["torch_ms"] / e2e["uninlu_ms"]
    result = {"commit": commit, "device": t.get("device") or u.get("encoder", {}).get("device"), "torch": t.get("torch"),
              "precision": "fp16", "encoder": rows, "end_to_end": e2e, "uninlu_raw": u, "torch_raw": t,
              "goals_ms": {"1x128": 0.25, "128x128": 5.5, "end_to_end": 1.0}}
    json.dump(result, open(out_path, "w"), indent=1, ensure_ascii=False)
    print(f"\n{'shape':8s} {'uninlu':>9s} {'graph':>9s} {'eager':>9s} {'compile':>9s} {'best/best':>9s} {'floor':>8s} {'x floor':>8s}")
    f = lambda v, w=9, p=3: (f"{v:{w}.{p}f}" if isinstance(v, (int, float)) else f"{'-':>{w}s}")
    for r in rows:
        print(f"{r['shape']:8s} {f(r['uninlu_fp16_ms'])} {f(r['uninlu_fp16_graph_ms'])} {f(r['torch_eager_fp16_ms'])} {f(r['torch_compile_fp16_ms'])} "
              f"{f(r['best_vs_best'], 9, 2)} {f(r['floor_ms'], 8, 3)} {f(r['times_floor'], 8, 1)}")
    for r in rows:
        for name, v in r["attention_variants"].items():
            print(f"  {r['shape']:8s} attention={name:15s} eager {f(v['eager_ms'])} graph {f(v['graph_ms'])}")
    print(f"end-to-end 4 labels: uninlu {e2e['uninlu_ms']} ms (op by op {e2e['uninlu_op_by_op_ms']} ms), torch {e2e['torch_ms']} ms, speedup {e2e.get('speedup')}")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "make-model":
        make_model(sys.argv[2], sys.argv[3])
    elif cmd == "torch":
        modes = [] if os.environ.get("SKIP_COMPILE") else ["reduce-overhead"]
        torch_bench(sys.argv[2], sys.argv[3], modes)
    elif cmd == "merge":
        merge(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
