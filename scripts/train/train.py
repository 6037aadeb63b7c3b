#!/usr/bin/env python3
"""Train the SiameseUIE-architecture model on one GPU (wall-clock budgeted), QAT to Q4_0, evaluate, export.

    cd .carry/train && PYTHONUNBUFFERED=1 python3 train.py --data . --out $OUT

Inputs (written by prepare.py): encoder_q4.safetensors, vocab.txt, tokenizer_config.json, data.json.xz.
Outputs under --out: model/ (config.json, configuration.json, tokenizer_config.json, vocab.txt, model.safetensors, split
into model.safetensors.part-* when the transfer needs it), results.json (updated as it goes), train.log.
"""
import argparse, json, math, os, random, shutil, sys, time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import labels as L
from evaluate import Predictor, eval_msra, full_eval, intent_text, load_data, load_tokenizer
from model import QLinear, bert_config, build_model, export_q4, fake_q4, is_quantized_name, load_state

T0 = time.time()
LOG = None


def log(*a):
    s = f"[{time.time() - T0:7.1f}s] " + " ".join(str(x) for x in a)
    print(s, flush=True)
    if LOG:
        LOG.write(s + "\n"); LOG.flush()


# ------------------------------------------------------------------------------------------------ examples
def msra_example(x, rng):
    hints = []
    for c in ("PER", "LOC", "ORG"):
        hints.append((rng.choice(L.TRAIN_NAMES[c]), [(s, e) for s, e, t in x["e"] if t == c]))
    if rng.random() < 0.5:
        hints.append((rng.choice(L.MSRA_NEGATIVES), []))
    return x["t"], hints


def slot_example(x, rng):
    d = x["d"]
    hints = []
    for s in L.DOMAIN_SLOTS[d]:
        hints.append((rng.choice(L.SLOT_NAMES[(d, s)]), [(b, e) for b, e, t in x["s"] if t == f"{d}+{s}"]))
    if rng.random() < 0.5:   # a slot of another domain as a negative (never 名称/出发地/目的地-like ones)
        other = [n for (dd, s), ns in L.SLOT_NAMES.items() if dd != d and s not in ("名称", "出发地", "目的地", "评分")
                 for n in ns[:1]]
        hints.append((rng.choice(other), []))
    return x["t"], hints


def travel_example(x, rng):
    hints = [(rng.choice(L.TRAVEL_NAMES[k]), [(s, e) for s, e, t in x["s"] if t == k]) for k in ("SRC", "DST", "TIME")]
    if rng.random() < 0.3:
        hints.append((rng.choice(L.TRAIN_NAMES["LOC"]), [(s, e) for s, e, t in x["s"] if t in ("SRC", "DST")]))
    if rng.random() < 0.5:
        hints.append((rng.choice(L.TRAVEL_NEG), []))
    rng.shuffle(hints)
    return x["t"], hints


def intent_example(x, intents, rng):
    k = rng.randint(2, 8)
    dom = [i for i in intents if i != x["i"] and any(d in i and d in x["i"] for d in ("景点", "酒店", "餐馆", "地铁", "出租"))]
    others = [i for i in intents if i != x["i"]]
    cands = set()
    while len(cands) < k - 1:
        cands.add(rng.choice(dom) if dom and rng.random() < 0.5 else rng.choice(others))
    cands = list(cands) + [x["i"]]
    rng.shuffle(cands)
    text = intent_text(cands, x["t"])
    prefix = ",".join(cands) + "|"
    pos = 0
    for c in cands:
        if c == x["i"]:
            break
        pos += len(c) + 1
    return text, [(rng.choice(L.INTENT_LABELS), [(pos, pos + len(x["i"]))])]


def build_epoch(data, rng, cw_repeat=2):
    ex = [msra_example(x, rng) for x in data["msra_train"]]
    for _ in range(cw_repeat):
        ex += [slot_example(x, rng) for x in data["cw"]["train_slots"]]
    ex += [travel_example(x, rng) for x in data["travel_train"]]
    ex += [intent_example(x, data["cw"]["intents"], rng) for x in data["cw"]["train_intents"]]
    rng.shuffle(ex)
    return ex


class Batcher:
    def __init__(self, tok):
        self.tok = tok
        self.hint_cache = {}
        self.missed = 0

    def hint(self, name):
        if name not in self.hint_cache:
            self.hint_cache[name] = self.tok(f"{name}: ")["input_ids"][:128]
        return self.hint_cache[name]

    def encode(self, examples):
        enc = self.tok([t for t, _ in examples], return_offsets_mapping=True)
        out = []
        for (text, hints), ids, offs in zip(examples, enc["input_ids"], enc["offset_mapping"]):
            ids, offs = ids[:384], offs[:384]      # training texts are short; keep a single window
            start = {o[0]: i for i, o in enumerate(offs) if o[1] > o[0]}
            end = {o[1]: i for i, o in enumerate(offs) if o[1] > o[0]}
            hs = []
            for name, spans in hints:
                hp, tp = [], []
                for s, e in spans:
                    if s in start and e in end:
                        hp.append(start[s]); tp.append(end[e])
                    else:
                        self.missed += 1
                hs.append((self.hint(name), hp, tp))
            out.append((ids, hs))
        return out

    def collate(self, items, device):
        B = len(items)
        Lt = max(len(i) for i, _ in items)
        pairs = [(r, h) for r, (_, hs) in enumerate(items) for h in hs]
        Lh = max(len(h[0]) for _, h in pairs)
        P = len(pairs)
        tid = np.zeros((B, Lt), np.int64); tm = np.zeros((B, Lt), np.int64); p0 = np.zeros(B, np.int64)
        for r, (ids, _) in enumerate(items):
            tid[r, :len(ids)] = ids; tm[r, :len(ids)] = 1; p0[r] = len(ids)
        hid = np.zeros((P, Lh), np.int64); hm = np.zeros((P, Lh), np.int64)
        yh = np.zeros((P, Lt), np.float32); yt = np.zeros((P, Lt), np.float32); pt = np.zeros(P, np.int64)
        for k, (r, (h, hp, tp)) in enumerate(pairs):
            hid[k, :len(h)] = h; hm[k, :len(h)] = 1; pt[k] = r
            yh[k, hp] = 1; yt[k, tp] = 1
        f = lambda a: torch.from_numpy(a).to(device, non_blocking=True)
        return f(tid), f(tm), f(p0), f(hid), f(hm), f(pt), f(yh), f(yt)


def circle_loss(logits, y, valid):
    """Multi-label circle loss (as upstream, margin 0) with the decision point moved to 0.5: negatives are pushed
    below 0 and positives above 1, so that the pipeline's raw-logit threshold 0.5 sits in the middle."""
    neg_inf = torch.finfo(logits.dtype).min
    pos = (y > 0) & valid
    neg = (y == 0) & valid
    s_neg = torch.where(neg, logits, torch.full_like(logits, neg_inf))
    s_pos = torch.where(pos, -(logits - 1.0), torch.full_like(logits, neg_inf))
    z = torch.zeros_like(logits[:, :1])
    return (torch.logsumexp(torch.cat([z, s_neg], 1), 1) + torch.logsumexp(torch.cat([z, s_pos], 1), 1)).mean()


def train_phase(model, data, tok, rng, device, seconds, lr_enc, lr_head, batch_texts, fake_quant, tag, max_epochs=99,
                warmup=0.06):
    QLinear.fake_quant = fake_quant
    model.train()
    heads = [p for n, p in model.named_parameters() if n.startswith(("head_clsf", "tail_clsf"))]
    decay = [p for n, p in model.named_parameters() if not n.startswith(("head_clsf", "tail_clsf")) and p.dim() >= 2]
    nodecay = [p for n, p in model.named_parameters() if not n.startswith(("head_clsf", "tail_clsf")) and p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "lr": lr_enc, "weight_decay": 0.01},
                             {"params": nodecay, "lr": lr_enc, "weight_decay": 0.0},
                             {"params": heads, "lr": lr_head, "weight_decay": 0.0}], betas=(0.9, 0.98), eps=1e-6,
                            fused=device == "cuda")
    base = [g["lr"] for g in opt.param_groups]
    b = Batcher(tok)
    start = time.time()
    step, epoch, done = 0, 0, False
    hist = []
    while not done and epoch < max_epochs:
        te = time.time()
        ex = b.encode(build_epoch(data, rng))
        log(f"{tag}: epoch {epoch} built {len(ex)} texts in {time.time() - te:.1f}s (spans not aligned: {b.missed})")
        for i in range(0, len(ex) - batch_texts + 1, batch_texts):
            frac = (time.time() - start) / seconds
            if frac >= 1:
                done = True; break
            warm = min(1.0, frac / warmup) if warmup > 0 else 1.0
            for g, lr in zip(opt.param_groups, base):
                g["lr"] = lr * warm * max(0.0, 1 - frac)
            tid, tm, p0, hid, hm, pt, yh, yt = b.collate(ex[i:i + batch_texts], device)
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=device == "cuda"):
                head, tail = model(tid, tm, p0, hid, hm, pt)
            valid = tm[pt].bool()
            loss = circle_loss(head.float(), yh, valid) + circle_loss(tail.float(), yt, valid)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            hist.append(loss.item() if step % 50 == 0 else None)
            if step % 200 == 0:
                log(f"{tag}: step {step} epoch {epoch} loss {loss.item():.4f} lr {opt.param_groups[0]['lr']:.2e}")
            step += 1
        epoch += 1
    log(f"{tag}: finished {step} steps, {epoch} epochs (partial last) in {time.time() - start:.1f}s")
    QLinear.fake_quant = False
    model.eval()
    return {"steps": step, "epochs_started": epoch, "seconds": time.time() - start, "batch_texts": batch_texts,
            "lr_encoder": lr_enc, "lr_heads": lr_head, "fake_quant": fake_quant}


def snapshot_q4(model):
    """Copy of the state with every quantized tensor replaced by its Q4_0 dequantization (plain post-training)."""
    with torch.no_grad():
        return {k: (fake_q4(v.float()) if is_quantized_name(k) else v.clone()) for k, v in model.state_dict().items()}


def main():
    global LOG
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=".")
    ap.add_argument("--out", required=True)
    ap.add_argument("--train-seconds", type=float, default=320)
    ap.add_argument("--qat-seconds", type=float, default=70)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--lr-head", type=float, default=1e-3)
    ap.add_argument("--qat-lr", type=float, default=2e-5)
    ap.add_argument("--seed", type=int, default=20261125)
    ap.add_argument("--export", choices=["q4_0", "q8_0"], default="q4_0", help="block format of the shipped weights")
    ap.add_argument("--mode", choices=["qat-all", "fp32-then-qat", "fp32"], default="qat-all",
                    help="qat-all: fake Q4_0 in the forward for the whole run (the base model is already on the Q4_0 "
                         "grid, so step 0 is exact); fp32-then-qat: fp32 phase, plain-Q4 check, then a QAT phase; "
                         "fp32: fp32 training only (with --export q8_0: Q8_0 is close to lossless, no QAT needed)")
    ap.add_argument("--smoke", action="store_true", help="tiny CPU run: few sentences, few steps")
    ap.add_argument("--split-mb", type=float, default=15.0)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    LOG = open(os.path.join(a.out, "train.log"), "w")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    random.seed(a.seed); np.random.seed(a.seed); torch.manual_seed(a.seed)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    results = {"device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu", "torch": torch.__version__,
               "seed": a.seed, "args": vars(a)}

    def save():
        json.dump(results, open(os.path.join(a.out, "results.json"), "w"), indent=1, ensure_ascii=False)

    data = load_data(os.path.join(a.data, "data.json.xz"))
    if a.smoke:
        data["msra_train"] = data["msra_train"][:300]; data["msra_test"] = data["msra_test"][:64]
        data["cw"]["train_slots"] = data["cw"]["train_slots"][:50]; data["cw"]["test_slots"] = data["cw"]["test_slots"][:20]
        data["cw"]["train_intents"] = data["cw"]["train_intents"][:50]; data["cw"]["test_intents"] = data["cw"]["test_intents"][:20]
        data["travel_train"] = data["travel_train"][:50]; data["travel_test"] = data["travel_test"][:20]
    tok = load_tokenizer(a.data)
    enc_path = os.path.join(a.data, "encoder_q4.safetensors")
    from safetensors import safe_open
    with safe_open(enc_path, "pt") as f:
        src_meta = f.metadata()
    eps = json.loads(src_meta["config"])["eps"]
    cfg = bert_config(len(tok), eps)
    model = build_model(load_state(enc_path), cfg, dropout=0.1, init_seed=a.seed).to(device)
    log(f"device {results['device']}, vocab {len(tok)}, params {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M")
    rng = random.Random(a.seed)
    pred = Predictor(model, tok, device)

    if a.mode in ("fp32", "fp32-then-qat"):
        # 1. main phase (fp32 master weights, bf16 autocast)
        results["train"] = train_phase(model, data, tok, rng, device, a.train_seconds, a.lr, a.lr_head, a.batch, False, "train")
        save()
        # 2. fp32 weights on MSRA test
        results["msra_test_fp32"] = eval_msra(pred, data["msra_test"], L.CANONICAL)
        log(f"MSRA test fp32: F1 {results['msra_test_fp32']['micro']['f1']:.4f}"); save()
        fp32_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        # 3. plain Q4_0 of the trained weights (no QAT), for the record
        model.load_state_dict(snapshot_q4(model))
        results["msra_test_q4_no_qat"] = eval_msra(pred, data["msra_test"], L.CANONICAL)
        log(f"MSRA test Q4 without QAT: F1 {results['msra_test_q4_no_qat']['micro']['f1']:.4f}"); save()
        model.load_state_dict(fp32_state)
    if a.mode == "fp32-then-qat":
        # 4. QAT: fake Q4_0 on the quantized tensors with a straight-through estimator
        results["qat"] = train_phase(model, data, tok, rng, device, a.qat_seconds, a.qat_lr, a.qat_lr * 10, a.batch, True, "qat",
                                     warmup=0.0)
        save()
    elif a.mode == "qat-all":
        # the whole run quantization-aware: forward through fake Q4_0 weights, STE updates of fp32 latent weights
        results["qat"] = train_phase(model, data, tok, rng, device, a.train_seconds, a.lr, a.lr_head, a.batch, True, "qat-all")
        save()
        results["msra_test_fp32_latent"] = eval_msra(pred, data["msra_test"], L.CANONICAL)
        log(f"MSRA test, fp32 latent weights (not quantized): F1 {results['msra_test_fp32_latent']['micro']['f1']:.4f}")
        save()
    # 5. export and evaluate the exact exported weights (dequantized from the file)
    mdir = os.path.join(a.out, "model")
    os.makedirs(mdir, exist_ok=True)
    export_q4(model.cpu(), os.path.join(mdir, "model.safetensors"),
              {"recipe": "scripts/train (issue #7)", "source": src_meta.get("source", "")}, scheme=a.export)
    model.to(device)
    json.dump(cfg, open(os.path.join(mdir, "config.json"), "w"), indent=1)
    json.dump({"framework": "pytorch", "task": "siamese-uie", "model": {"type": "bert"},
               "pipeline": {"type": "siamese-uie"}, "preprocessor": {"type": "siamese-uie-preprocessor"}},
              open(os.path.join(mdir, "configuration.json"), "w"), indent=1)
    for fn in ("vocab.txt", "tokenizer_config.json"):
        shutil.copy(os.path.join(a.data, fn), os.path.join(mdir, fn))
    from evaluate import load_model_dir
    final = load_model_dir(mdir, device)
    fpred = Predictor(final, load_tokenizer(mdir), device)
    log(f"final {a.export} model (exported file, dequantized):")
    results["export"] = a.export
    results["final_q4"] = full_eval(fpred, data, log=log)  # key kept from the Q4 runs: the exported file, whatever its format
    results["model_bytes"] = os.path.getsize(os.path.join(mdir, "model.safetensors"))
    save()
    outs = fpred.flat([x["t"] for x in data["msra_test"]], [[L.CANONICAL[c] for c in ("PER", "LOC", "ORG")]] * len(data["msra_test"]))
    with open(os.path.join(a.out, "preds_msra_test.jsonl"), "w", encoding="utf-8") as f:
        for x, o in zip(data["msra_test"], outs):
            f.write(json.dumps({"text": x["t"], "output": o}, ensure_ascii=False) + "\n")
    # split for the transfer limit (16 MiB per file)
    p = os.path.join(mdir, "model.safetensors")
    lim = int(a.split_mb * 1024 * 1024)
    if os.path.getsize(p) > lim:
        raw = open(p, "rb").read()
        for i in range(0, len(raw), lim):
            open(os.path.join(a.out, f"model.safetensors.part{i // lim}"), "wb").write(raw[i:i + lim])
        os.remove(p)
        results["model_split"] = math.ceil(len(raw) / lim)
    else:
        shutil.move(p, os.path.join(a.out, "model.safetensors"))
    shutil.move(os.path.join(mdir, "config.json"), os.path.join(a.out, "config.json"))
    shutil.rmtree(mdir)   # vocab/tokenizer/configuration files are the inputs; fewer files to bring back
    results["total_seconds"] = time.time() - T0
    save()
    log(f"done in {time.time() - T0:.1f}s")


if __name__ == "__main__":
    main()
