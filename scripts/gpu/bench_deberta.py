#!/usr/bin/env python3
"""GPU benchmark baselines for UniNLU's RexUniNLU / DeBERTa-v2 engine (run on the GPU machine by
scripts/gpu/run-checks.sh).

  make-model DIR FIXTURE   random base-size RexUniNLU checkpoint (DeBERTa-v2 12x768, 12 heads, FFN 3072,
                           vocab 12800 + 4 prompt markers, relative attention c2p|p2c with position buckets
                           256 and max_relative_positions -1, conv after layer 0, ffnq/ffnk + rotary freqs) in
                           the upstream layout, so that UniNLU and PyTorch run the very same weights.
                           FIXTURE = Tests/Fixtures/rex_uninlu/model (vocab.txt, tokenizer_config.json).
  torch DIR OUT.json [UNINLU.json]
                           transformers' DebertaV2Model, FP16, eager and torch.compile(mode="reduce-overhead"),
                           at 1x128, 16x128, 128x128, 8x512 (CUDA events, median of 50 after warm-up); with
                           UniNLU's bench JSON, also the model calls of its end-to-end Rex request (the same
                           job lengths, batch 1 each as upstream's prompt loop, encoder + ffnq/ffnk + RoPE +
                           Z to the host; tokenization and decoding excluded: a lower bound for PyTorch).
  merge UNINLU.json TORCH.json OUT.json COMMIT
                           joins both into bench/results JSON with ratios; prints a table.
"""
import json, math, os, shutil, statistics, sys, time

from bench_bert import load_state, time_cuda  # the same helpers as the BERT benchmark (this folder)

SHAPES = [(1, 128), (16, 128), (128, 128), (8, 512)]
H, F, L, HEADS, VOCAB, MARKERS = 768, 3072, 12, 12, 12800, 4
CONFIG = {"attention_probs_dropout_prob": 0.1, "conv_act": "gelu", "conv_kernel_size": 3, "hidden_act": "gelu",
          "hidden_dropout_prob": 0.1, "hidden_size": H, "initializer_range": 0.02, "intermediate_size": F,
          "layer_norm_eps": 1e-7, "max_position_embeddings": 512, "max_relative_positions": -1, "model_type": "deberta-v2",
          "norm_rel_ebd": "layer_norm", "num_attention_heads": HEADS, "num_hidden_layers": L, "pad_token_id": 0,
          "pooler_dropout": 0, "pooler_hidden_act": "gelu", "pooler_hidden_size": H, "pos_att_type": ["c2p", "p2c"],
          "position_biased_input": False, "position_buckets": 256, "relative_attention": True, "share_att_key": True,
          "type_vocab_size": 0, "vocab_size": VOCAB}


def make_model(out, fixture_dir):
    import torch
    from safetensors.torch import save_file
    torch.manual_seed(20261125)
    os.makedirs(out, exist_ok=True)
    sd = {}
    def n(*shape, std=0.02):
        return (torch.randn(*shape) * std).contiguous()
    sd["plm.embeddings.word_embeddings.weight"] = n(VOCAB + MARKERS, H)
    sd["plm.embeddings.LayerNorm.weight"] = torch.ones(H)
    sd["plm.embeddings.LayerNorm.bias"] = torch.zeros(H)
    sd["plm.encoder.rel_embeddings.weight"] = n(2 * 256, H)
    sd["plm.encoder.LayerNorm.weight"] = torch.ones(H)
    sd["plm.encoder.LayerNorm.bias"] = torch.zeros(H)
    sd["plm.encoder.conv.conv.weight"] = n(H, H, 3)
    sd["plm.encoder.conv.conv.bias"] = n(H)
    sd["plm.encoder.conv.LayerNorm.weight"] = torch.ones(H)
    sd["plm.encoder.conv.LayerNorm.bias"] = torch.zeros(H)
    for i in range(L):
        p = f"plm.encoder.layer.{i}"
        for name in ["attention.self.query_proj", "attention.self.key_proj", "attention.self.value_proj", "attention.output.dense"]:
            sd[f"{p}.{name}.weight"] = n(H, H); sd[f"{p}.{name}.bias"] = n(H)
        sd[f"{p}.intermediate.dense.weight"] = n(F, H); sd[f"{p}.intermediate.dense.bias"] = n(F)
        sd[f"{p}.output.dense.weight"] = n(H, F); sd[f"{p}.output.dense.bias"] = n(H)
        for ln in ["attention.output.LayerNorm", "output.LayerNorm"]:
            sd[f"{p}.{ln}.weight"] = torch.ones(H); sd[f"{p}.{ln}.bias"] = torch.zeros(H)
    # Head: small random weights plus opposite biases (bq = c·u, bk = -c·u, |u| = 1) that push Z below
    # 0 by up to c² = 4 (RoPE-rotated), so that only a few token pairs cross Z > 0, as with a trained model.
    u = torch.randn(H); u = u / u.norm()
    sd["ffnq.weight"] = n(H, H, std=0.01); sd["ffnq.bias"] = (2.0 * u).contiguous()
    sd["ffnk.weight"] = n(H, H, std=0.01); sd["ffnk.bias"] = (-2.0 * u).contiguous()
    sd["rotary_emb.freqs"] = (1.0 / (10000 ** (torch.arange(0, H, 2).float() / H))).contiguous()
    save_file(sd, os.path.join(out, "model.safetensors"))
    json.dump(CONFIG, open(os.path.join(out, "config.json"), "w"), indent=1)
    for name in ["vocab.txt", "tokenizer_config.json"]:
        shutil.copy(os.path.join(fixture_dir, name), os.path.join(out, name))
    conf = os.path.join(fixture_dir, "configuration.json")
    if os.path.exists(conf):
        shutil.copy(conf, os.path.join(out, "configuration.json"))
    print(f"wrote {out}")


def deberta_from_state(state):
    from transformers import DebertaV2Config, DebertaV2Model
    cfg = DebertaV2Config(**{k: v for k, v in CONFIG.items() if k != "model_type"})
    cfg.vocab_size = VOCAB + MARKERS
    model = DebertaV2Model(cfg)
    mapped = {k[len("plm."):]: t for k, t in state.items() if k.startswith("plm.")}
    missing, unexpected = model.load_state_dict(mapped, strict=False)
    missing = [m for m in missing if "position_ids" not in m]
    if missing or unexpected:  # timings stay meaningful (random weights); say so loudly
        print(f"WARNING: DebertaV2Model state mismatch: missing {missing}, unexpected {unexpected}", flush=True)
    return model.half().cuda().eval()


def patch_conv_mask(model):
    """transformers 5.x: with a 3-D (Rex 2-D per sequence) attention mask, DebertaV2Encoder passes a bool
    `input_mask` to ConvLayer, whose `1 - input_mask` then fails ("Subtraction ... with a bool tensor").
    Older releases passed an integer mask; give the conv layer one again (same values)."""
    import torch
    conv = getattr(model.encoder, "conv", None)
    if conv is None or getattr(conv, "_uninlu_patched", False):
        return
    original = conv.forward
    def forward(hidden_states, residual_states, input_mask):
        if input_mask is not None and input_mask.dtype == torch.bool:
            input_mask = input_mask.long()
        return original(hidden_states, residual_states, input_mask)
    conv.forward = forward
    conv._uninlu_patched = True


def rex_model_call(model, w, ids, pos):
    """Upstream RexModel on one job (batch 1): DeBERTa with the 2-D mask and relative positions from
    the position ids, then Z = RoPE(ffnq h)·RoPE(ffnk h)ᵀ, copied to the host."""
    import torch
    n = ids.shape[1]
    mask = torch.ones(1, n, n, device="cuda", dtype=torch.long)
    emb = model.embeddings(input_ids=ids, mask=torch.ones(1, n, device="cuda", dtype=torch.long))
    rel = (pos[:, :, None] - pos[:, None, :])
    enc = model.encoder(emb, mask, relative_pos=rel)
    h = enc.last_hidden_state if hasattr(enc, "last_hidden_state") else enc[0]
    q = torch.nn.functional.linear(h, w["ffnq.weight"], w["ffnq.bias"]).float()
    k = torch.nn.functional.linear(h, w["ffnk.weight"], w["ffnk.bias"]).float()
    ang = pos[0].float()[:, None] * w["rotary_emb.freqs"][None, :]
    c, s = torch.cos(ang), torch.sin(ang)
    def rope(x):
        a, b = x[..., 0::2], x[..., 1::2]
        return torch.stack([a * c - b * s, b * c + a * s], dim=-1).flatten(-2)
    return (rope(q) @ rope(k).transpose(-1, -2)).cpu()


def torch_bench(model_dir, out_path, uninlu_path=None):
    import torch
    torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction = True
    state = load_state(model_dir)
    import transformers
    result = {"torch": torch.__version__, "transformers": transformers.__version__, "device": torch.cuda.get_device_name(0),
              "encoder": {}, "end_to_end": {}}
    model = deberta_from_state(state)
    g = torch.Generator(device="cuda").manual_seed(7)
    def save():  # after every measurement: a timeout keeps what was measured
        json.dump(result, open(out_path, "w"), indent=1, ensure_ascii=False)
    def encoder(mode):
        fn = model if mode == "eager" else torch.compile(model, mode=mode)
        for b, s in SHAPES:
            ids = torch.randint(0, VOCAB, (b, s), device="cuda", generator=g)
            am = torch.ones(b, s, device="cuda", dtype=torch.long)
            with torch.inference_mode():
                t0 = time.time()
                try:
                    med, mn, sd = time_cuda(lambda: fn(input_ids=ids, attention_mask=am))
                except Exception as e:  # a failing baseline is reported, not fatal
                    print(f"torch {mode} {b}x{s}: {type(e).__name__}: {str(e)[:300]}", flush=True)
                    continue
            key = f"{b}x{s}"
            result["encoder"].setdefault(key, {})[mode] = {"median_ms": med, "min_ms": mn, "stddev_ms": sd, "wall_s": time.time() - t0}
            print(f"torch DebertaV2Model {mode:16s} {key:8s} median {med:8.3f} ms ({time.time() - t0:.1f} s)", flush=True)
            save()
    encoder("eager")
    # The model calls of UniNLU's end-to-end request, batch 1 each (upstream prompt_loop).
    calls = []
    if uninlu_path and os.path.exists(uninlu_path):
        calls = json.load(open(uninlu_path)).get("end_to_end", {}).get("rex_calls", [])
    if calls:
        try:
            patch_conv_mask(model)
            w = {k: t.cuda() for k, t in state.items() if not k.startswith("plm.")}
            w = {k: (t.half() if k != "rotary_emb.freqs" else t.float()) for k, t in w.items()}
            jobs = [int(n) for call in calls for n in call]
            inputs = []
            for n in jobs:
                ids = torch.randint(0, VOCAB, (1, n), device="cuda", generator=g)
                inputs.append((ids, torch.arange(n, device="cuda")[None]))
            def request():
                for ids, pos in inputs:
                    rex_model_call(model, w, ids, pos)
            with torch.inference_mode():
                request()
                for _ in range(10):
                    request()
                samples = []
                for _ in range(50):
                    t = time.perf_counter(); request(); samples.append((time.perf_counter() - t) * 1000)
            result["end_to_end"] = {"median_ms": statistics.median(samples), "min_ms": min(samples), "jobs": jobs,
                                    "impl": "transformers DebertaV2 encoder (2-D mask, relative_pos from position ids) + RoPE head, "
                                            "FP16 eager, batch 1 per job as upstream; tokenization/decoding excluded"}
            print(f"torch Rex request model calls ({len(jobs)} jobs, lengths {jobs}): median {statistics.median(samples):.3f} ms", flush=True)
        except Exception as e:
            print(f"torch end-to-end failed: {type(e).__name__}: {e}", flush=True)
            result["end_to_end"] = {"error": f"{type(e).__name__}: {e}"}
        save()
    if not os.environ.get("SKIP_COMPILE"):
        encoder("reduce-overhead")
    save()


def merge(uninlu_path, torch_path, out_path, commit):
    u = json.load(open(uninlu_path)) if os.path.exists(uninlu_path) else {}
    t = json.load(open(torch_path)) if os.path.exists(torch_path) else {}
    rows = []
    ushapes = {r["shape"]: r for r in u.get("encoder", {}).get("shapes", [])}
    # The attention-kernel variants run-checks.sh times beside the default (same directory).
    variants = {}
    for name, suffix in [("staged_tc_global_rel_rows", "fp16-tc-global-attention"),
                         ("unstaged_mma", "fp16-mma-attention"), ("fma", "fp16-fma-attention")]:
        path = os.path.join(os.path.dirname(uninlu_path) or ".", f"uninlu-rex-bench-{suffix}.json")
        if os.path.exists(path):
            variants[name] = {r["shape"]: r for r in json.load(open(path)).get("encoder", {}).get("shapes", [])}
    for b, s in SHAPES:
        key = f"{b}x{s}"
        ur = ushapes.get(key, {})
        ours, graph = ur.get("median_ms"), ur.get("graph_median_ms")
        variant_ms = {name: {"eager_ms": v.get(key, {}).get("median_ms"), "graph_ms": v.get(key, {}).get("graph_median_ms")}
                      for name, v in variants.items()}
        tt = t.get("encoder", {}).get(key, {})
        eager = tt.get("eager", {}).get("median_ms")
        comp = tt.get("reduce-overhead", {}).get("median_ms")
        best_torch = min([v for v in (eager, comp) if v], default=None)
        best_ours = min([v for v in (ours, graph) if v], default=None)
        rows.append({"shape": key, "uninlu_fp16_ms": ours, "uninlu_fp16_graph_ms": graph, "uninlu_model_call_ms": ur.get("model_call_median_ms"),
                     "torch_eager_fp16_ms": eager, "torch_compile_fp16_ms": comp,
                     "speedup_vs_eager": (eager / best_ours) if best_ours and eager else None,
                     "speedup_vs_best_torch": (best_torch / best_ours) if best_ours and best_torch else None,
                     "attention_variants": variant_ms})
    e2e = {"uninlu_ms": u.get("end_to_end", {}).get("median_ms"), "torch_model_calls_ms": t.get("end_to_end", {}).get("median_ms"),
           "jobs": t.get("end_to_end", {}).get("jobs"),
           "uninlu_op_by_op_ms": u.get("end_to_end_op_by_op", {}).get("median_ms"),
           "uninlu_cuda_graphs": u.get("end_to_end", {}).get("cuda_graphs")}
    if e2e["uninlu_ms"] and e2e["torch_model_calls_ms"]:
        e2e["speedup"] = e2e["torch_model_calls_ms"] / e2e["uninlu_ms"]
    result = {"commit": commit, "model": "rex-uninlu deberta-v2 base (random weights)",
              "device": t.get("device") or u.get("encoder", {}).get("device"), "torch": t.get("torch"),
              "transformers": t.get("transformers"), "precision": "fp16", "encoder": rows, "end_to_end": e2e,
              "uninlu_raw": u, "torch_raw": t,
              "goals": {"1x128_ms": 0.4, "128x128_speedup_vs_best_torch": 1.5}}
    json.dump(result, open(out_path, "w"), indent=1, ensure_ascii=False)
    f = lambda v, w=9, p=3: (f"{v:{w}.{p}f}" if isinstance(v, (int, float)) else f"{'-':>{w}s}")
    print(f"\nDeBERTa-v2 base (Rex) FP16, ms (median)")
    print(f"{'shape':8s} {'uninlu':>9s} {'graph':>9s} {'+head':>9s} {'eager':>9s} {'compile':>9s} {'x eager':>8s} {'x best':>8s}")
    for r in rows:
        print(f"{r['shape']:8s} {f(r['uninlu_fp16_ms'])} {f(r['uninlu_fp16_graph_ms'])} {f(r['uninlu_model_call_ms'])} "
              f"{f(r['torch_eager_fp16_ms'])} {f(r['torch_compile_fp16_ms'])} {f(r['speedup_vs_eager'], 8, 2)} {f(r['speedup_vs_best_torch'], 8, 2)}")
    for r in rows:
        for name, v in r["attention_variants"].items():
            print(f"  {r['shape']:8s} attention={name:10s} eager {f(v['eager_ms'])} graph {f(v['graph_ms'])}")
    print(f"Rex NER request: uninlu end-to-end {e2e['uninlu_ms']} ms; torch model calls only {e2e['torch_model_calls_ms']} ms "
          f"(jobs {e2e['jobs']}); speedup {e2e.get('speedup')}")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "make-model":
        make_model(sys.argv[2], sys.argv[3])
    elif cmd == "torch":
        torch_bench(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
    elif cmd == "merge":
        merge(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
