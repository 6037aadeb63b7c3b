#!/usr/bin/env python3
"""Evaluation shared by train.py and by hand: the upstream SiameseUIE pipeline decode on a model directory.

  python3 evaluate.py --model DIR --data .carry/train/data.json.xz --out results.json [--device cuda]

Pipeline (models.md 2.5-2.8): text tokenized whole as [CLS] text [SEP]; windows of 384 tokens with step 352 when
longer (only the last of several windows padded with id 0); hints f"{type}: " (prefix chain for nested levels),
batch-tokenized per level, truncated at 128; hint positions start at the window length; logits of overlapping windows
averaged; every token with head logit > 0.5 is paired with the first token at or after it with tail logit > 0.5;
spans sorted by offset; offsets are code points, end exclusive.

Metrics: entity-level exact match (type, start, end) micro P/R/F1 and per type.
"""
import argparse, json, lzma, math, os, random, sys, time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import labels as L
from model import SiameseUIE, bert_config, build_model, load_state

MAX_LEN, SLIDE, HINT_MAX, THRESHOLD = 384, 352, 128, 0.5


def load_tokenizer(model_dir):
    from transformers import BertTokenizerFast
    return BertTokenizerFast.from_pretrained(model_dir)


def load_model_dir(model_dir, device):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    model = build_model(load_state(os.path.join(model_dir, "model.safetensors")), cfg, dropout=0.0)
    return model.to(device).eval()


def decode(head, tail, offsets, text):
    out = []
    n = len(head)
    for ph in range(n):
        if head[ph] > THRESHOLD:
            for pt in range(ph, n):
                if tail[pt] > THRESHOLD:
                    s, e = offsets[ph][0], offsets[pt][1]
                    out.append({"offset": [s, e], "span": text[s:e]})
                    break
    return sorted(out, key=lambda x: tuple(x["offset"]))


class Predictor:
    def __init__(self, model, tok, device, batch_pairs=512):
        self.model, self.tok, self.device, self.batch_pairs = model, tok, device, batch_pairs
        self.hint_cache = {}

    def hint_ids(self, hint):
        if hint not in self.hint_cache:
            ids = self.tok(hint, add_special_tokens=True)["input_ids"]
            if len(ids) > HINT_MAX:
                ids = ids[:HINT_MAX - 1] + [ids[-1]]
            self.hint_cache[hint] = ids
        return self.hint_cache[hint]

    @torch.no_grad()
    def run(self, windows, hints_per_window):
        """windows: list of (ids, mask, pos0); hints_per_window: list of lists of hint id lists (each list is one
        level's batch, padded to its longest as upstream). Returns [[(head, tail) per hint] per window] as lists."""
        dev = self.device
        results = [None] * len(windows)
        order = list(range(len(windows)))
        i = 0
        while i < len(order):
            chunk, pairs = [], 0
            while i < len(order) and (not chunk or pairs + len(hints_per_window[order[i]]) <= self.batch_pairs):
                chunk.append(order[i]); pairs += len(hints_per_window[order[i]]); i += 1
            Lt = max(len(windows[w][0]) for w in chunk)
            tid = torch.zeros(len(chunk), Lt, dtype=torch.long)
            tm = torch.zeros(len(chunk), Lt, dtype=torch.long)
            p0 = torch.zeros(len(chunk), dtype=torch.long)
            hid_rows, pair_text, lh_all = [], [], []
            for r, w in enumerate(chunk):
                ids, mask, pos0 = windows[w]
                tid[r, :len(ids)] = torch.tensor(ids); tm[r, :len(mask)] = torch.tensor(mask); p0[r] = pos0
                lvl = max(len(h) for h in hints_per_window[w])       # the level's hints padded to their longest
                for h in hints_per_window[w]:
                    hid_rows.append((h, lvl)); pair_text.append(r)
            Lh = max(l for _, l in hid_rows)
            hid = torch.zeros(len(hid_rows), Lh, dtype=torch.long)
            hm = torch.zeros(len(hid_rows), Lh, dtype=torch.long)
            for r, (h, lvl) in enumerate(hid_rows):
                hid[r, :len(h)] = torch.tensor(h); hm[r, :len(h)] = 1
            head, tail = self.model(tid.to(dev), tm.to(dev), p0.to(dev), hid.to(dev), hm.to(dev),
                                    torch.tensor(pair_text, device=dev))
            head, tail = head.float().cpu(), tail.float().cpu()
            k = 0
            for r, w in enumerate(chunk):
                n = len(windows[w][0])
                res = []
                for _ in hints_per_window[w]:
                    res.append((head[k, :n].tolist(), tail[k, :n].tolist())); k += 1
                results[w] = res
        return results

    def windows_of(self, ids):
        if len(ids) <= MAX_LEN:
            return [(ids, [1] * len(ids), len(ids))], [0]
        n = math.ceil((len(ids) - MAX_LEN) / SLIDE) + 1
        wins, starts = [], []
        for j in range(n):
            w = ids[j * SLIDE:j * SLIDE + MAX_LEN]
            m = [1] * len(w)
            if len(w) < MAX_LEN:
                m += [0] * (MAX_LEN - len(w)); w = w + [0] * (MAX_LEN - len(w))
            wins.append((w, m, MAX_LEN)); starts.append(j * SLIDE)
        return wins, starts

    def level(self, items):
        """items: list of (text, enc, hints). Returns per item, per hint, the decoded spans."""
        wins, hints, owner = [], [], []
        for it, (text, enc, hs) in enumerate(items):
            ws, starts = self.windows_of(enc["input_ids"])
            hid = [self.hint_ids(h) for h in hs]
            for w, st in zip(ws, starts):
                wins.append(w); hints.append(hid); owner.append((it, st))
        res = self.run(wins, hints)
        out = []
        idx = 0
        for it, (text, enc, hs) in enumerate(items):
            n = len(enc["input_ids"])
            per_hint = []
            heads = [[-1.0] * n for _ in hs]; tails = [[-1.0] * n for _ in hs]
            filled = [[False] * n for _ in hs]
            while idx < len(owner) and owner[idx][0] == it:
                st = owner[idx][1]
                for hi, (h, t) in enumerate(res[idx]):
                    for j in range(len(h)):
                        g = st + j
                        if g >= n or windows_mask(wins[idx], j) == 0:
                            continue
                        if not filled[hi][g]:
                            heads[hi][g], tails[hi][g], filled[hi][g] = h[j], t[j], True
                        else:
                            heads[hi][g] = (heads[hi][g] + h[j]) / 2; tails[hi][g] = (tails[hi][g] + t[j]) / 2
                idx += 1
            for hi in range(len(hs)):
                per_hint.append(decode(heads[hi], tails[hi], enc["offset_mapping"], text))
            out.append(per_hint)
        return out

    def encode(self, texts):
        return [dict(input_ids=e, offset_mapping=o) for e, o in
                zip(*(lambda r: (r["input_ids"], r["offset_mapping"]))(self.tok(texts, return_offsets_mapping=True)))]

    def flat(self, texts, schemas, chunk=2048):
        """Flat schemas (lists of type names) for many texts: returns per text the upstream output list."""
        outs = []
        for c in range(0, len(texts), chunk):
            tx, sc = texts[c:c + chunk], schemas[c:c + chunk]
            encs = self.encode(tx)
            res = self.level([(t, e, [f"{s}: " for s in ss]) for t, e, ss in zip(tx, encs, sc)])
            for ss, per_hint in zip(sc, res):
                outs.append([[{"type": s, "span": sp["span"], "offset": sp["offset"]}] for s, spans in zip(ss, per_hint)
                             for sp in spans])
        return outs

    def predict(self, text, schema, output_all_prefix=False):
        """Full upstream recursion for one text (nested dict schema)."""
        enc = self.encode([text])[0]
        pred = []

        def solve(prefix, sch):
            types = list(sch.keys())
            hints = []
            for st in types:
                h = "".join(f"{p['type']}: {p['span']}, " for p in prefix) + f"{st}: "
                hints.append(h)
            per_hint = self.level([(text, enc, hints)])[0]
            for st, spans in zip(types, per_hint):
                for sp in spans:
                    path = prefix + [{"type": st, "span": sp["span"], "offset": sp["offset"]}]
                    if sch[st] is None:
                        pred.append(path)
                    else:
                        if output_all_prefix:
                            pred.append(path)
                        solve(path, sch[st])
        solve([], schema)
        return {"output": pred}


def windows_mask(win, j):
    return win[1][j]


# ------------------------------------------------------------------------------------------------ metrics
def prf(tp, np_, ng):
    p = tp / np_ if np_ else 0.0
    r = tp / ng if ng else 0.0
    return {"p": p, "r": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "tp": tp, "pred": np_, "gold": ng}


def score(gold, pred, type_of=lambda t: t):
    """gold/pred: lists (per text) of iterables of (type, start, end)."""
    from collections import Counter
    tp, npr, ng = Counter(), Counter(), Counter()
    for g, p in zip(gold, pred):
        g = {(type_of(t), s, e) for t, s, e in g}; p = {(type_of(t), s, e) for t, s, e in p}
        for t, _, _ in g: ng[t] += 1
        for t, _, _ in p: npr[t] += 1
        for t, _, _ in g & p: tp[t] += 1
    res = {"micro": prf(sum(tp.values()), sum(npr.values()), sum(ng.values()))}
    for t in sorted(set(ng) | set(npr)):
        res[t] = prf(tp[t], npr[t], ng[t])
    return res


def spans_of(output):
    return [(p[0]["type"], p[0]["offset"][0], p[0]["offset"][1]) for p in output]


def eval_msra(pred, test, names, limit=None):
    """names: concept -> label string. Returns P/R/F1 (per concept keys PER/LOC/ORG)."""
    test = test[:limit] if limit else test
    inv = {v: k for k, v in names.items()}
    outs = pred.flat([s["t"] for s in test], [[names[c] for c in ("PER", "LOC", "ORG")]] * len(test))
    gold = [[(t, s, e) for s, e, t in x["e"]] for x in test]
    return score(gold, [[(inv[t], s, e) for t, s, e in spans_of(o)] for o in outs])


def eval_slots(pred, items):
    texts, schemas, gold = [], [], []
    for x in items:
        d = x["d"]
        schemas.append([L.SLOT_NAMES[(d, s)][0] for s in L.DOMAIN_SLOTS[d]])
        texts.append(x["t"])
        gold.append([(L.SLOT_NAMES[tuple(t.split("+"))][0], s, e) for s, e, t in x["s"]])
    outs = pred.flat(texts, schemas)
    return score(gold, [spans_of(o) for o in outs])


def intent_text(cands, text):
    return ",".join(cands) + "|" + text


def eval_intents(pred, items):
    texts = [intent_text(x["c"], x["t"]) for x in items]
    outs = pred.flat(texts, [[L.INTENT_CANONICAL]] * len(texts))
    correct = exact = 0
    for x, t, o in zip(items, texts, outs):
        spans = [p[0]["span"] for p in o]
        exact += int(spans == [x["i"]])
        correct += int(x["i"] in spans and len(spans) == 1)
    return {"accuracy": exact / len(items), "n": len(items),
            "definition": "pipeline output is exactly one span and it is the gold intent candidate"}


def eval_travel(pred, items):
    names = {"SRC": "出发地", "DST": "目的地", "TIME": "时间"}
    outs = pred.flat([x["t"] for x in items], [[names[k] for k in ("SRC", "DST", "TIME")]] * len(items))
    gold = [[(names[t], s, e) for s, e, t in x["s"]] for x in items]
    return score(gold, [spans_of(o) for o in outs])


def full_eval(pred, data, log=print, quick=False):
    res = {}
    t0 = time.time()
    res["msra_test"] = eval_msra(pred, data["msra_test"], L.CANONICAL)
    log(f"  MSRA test ({'/'.join(L.CANONICAL.values())}): F1 {res['msra_test']['micro']['f1']:.4f} "
        + " ".join(f"{k} {res['msra_test'][k]['f1']:.4f}" for k in ("PER", "LOC", "ORG")) + f" ({time.time() - t0:.1f}s)")
    if quick:
        return res
    res["msra_test_upstream_names"] = eval_msra(pred, data["msra_test"], {"PER": "人物", "LOC": "地理位置", "ORG": "组织机构"})
    log(f"  MSRA test (人物/地理位置/组织机构): F1 {res['msra_test_upstream_names']['micro']['f1']:.4f}")
    res["msra_unseen_names"] = []
    for names in L.HELDOUT_NAMES:
        r = eval_msra(pred, data["msra_test"], names)
        res["msra_unseen_names"].append({"names": names, **r})
        log(f"  MSRA unseen names {'/'.join(names.values())}: F1 {r['micro']['f1']:.4f} "
            + " ".join(f"{k} {r[k]['f1']:.4f}" for k in ("PER", "LOC", "ORG")))
    res["msra_unseen_names_mean_f1"] = sum(r["micro"]["f1"] for r in res["msra_unseen_names"]) / len(L.HELDOUT_NAMES)
    res["crosswoz_slots"] = eval_slots(pred, data["cw"]["test_slots"])
    log(f"  CrossWOZ held-out slots: F1 {res['crosswoz_slots']['micro']['f1']:.4f} (n={len(data['cw']['test_slots'])})")
    res["crosswoz_intents"] = eval_intents(pred, data["cw"]["test_intents"])
    log(f"  CrossWOZ held-out intents: acc {res['crosswoz_intents']['accuracy']:.4f} (n={res['crosswoz_intents']['n']})")
    res["travel_heldout_templates"] = eval_travel(pred, data["travel_test"])
    log(f"  travel held-out templates: F1 {res['travel_heldout_templates']['micro']['f1']:.4f}")
    ex = pred.predict("帮我定一张明天去上海的机票", {"出发地": None, "目的地": None, "时间": None})
    res["readme_example"] = ex
    log(f"  README example: {json.dumps(ex, ensure_ascii=False)}")
    ex2 = pred.predict("1944年毕业于北大的名古屋铁道会长谷口清太郎等人在日本积极筹资，共筹款2.7亿日元，参加捐款的日本企业有69家。",
                       {"人物": None, "地理位置": None, "组织机构": None})
    res["upstream_card_example"] = ex2
    log(f"  upstream card example: {json.dumps(ex2, ensure_ascii=False)}")
    res["eval_seconds"] = time.time() - t0
    return res


def load_data(path):
    with lzma.open(path, "rt", encoding="utf-8") as f:
        return json.load(f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--limit", type=int, help="first N MSRA test sentences only (smoke tests)")
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    data = load_data(a.data)
    if a.limit:
        data["msra_test"] = data["msra_test"][:a.limit]
        data["cw"]["test_slots"] = data["cw"]["test_slots"][:a.limit]
        data["cw"]["test_intents"] = data["cw"]["test_intents"][:a.limit]
        data["travel_test"] = data["travel_test"][:a.limit]
    pred = Predictor(load_model_dir(a.model, a.device), load_tokenizer(a.model), a.device)
    res = full_eval(pred, data)
    if a.out:
        json.dump(res, open(a.out, "w"), indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
