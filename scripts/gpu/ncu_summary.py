#!/usr/bin/env python3
"""Per-kernel summary of `ncu --metrics gpu__time_duration.sum --print-summary per-kernel` output
(scripts/gpu/profile-kernels.sh): launches, mean and total time per kernel name (template arguments
and grids merged), largest first, with each kernel's share of all kernel time.
  python3 scripts/gpu/ncu_summary.py NCU_OUTPUT.txt [--min-us 100] [--forwards N]
--forwards N adds a per-forward column (total / N)."""
import argparse, re

UNITS = {"ns": 0.001, "us": 1.0, "usecond": 1.0, "ms": 1000.0, "msecond": 1000.0}

def summarise(path):
    kernels, current = {}, None
    for line in open(path, errors="replace"):
        head = re.match(r"\s+(\S.*?) \(\d+, \d+, \d+\)x\(\d+, \d+, \d+\), Device \d+, CC [\d.]+, Invocations (\d+)", line)
        if head:
            current = (head.group(1).split("<")[0].strip(), int(head.group(2)))
            continue
        metric = re.search(r"gpu__time_duration.sum\s+(\S+)\s+[\d.]+\s+[\d.]+\s+([\d.]+)", line)
        if metric and current and metric.group(1) in UNITS:
            name, launches = current
            entry = kernels.setdefault(name, [0, 0.0])
            entry[0] += launches
            entry[1] += launches * float(metric.group(2)) * UNITS[metric.group(1)]
            current = None
    return kernels

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("--min-us", type=float, default=100.0, help="leave out kernels with less total time")
    ap.add_argument("--forwards", type=int, default=0)
    a = ap.parse_args()
    kernels = summarise(a.path)
    everything = sum(t for _, t in kernels.values()) or 1.0
    header = f"{'kernel':58s} {'launches':>8s} {'mean us':>9s} {'total us':>10s} {'share':>6s}"
    print(header + (f" {'per forward us':>15s}" if a.forwards else ""))
    for name, (launches, total) in sorted(kernels.items(), key=lambda kv: -kv[1][1]):
        if total < a.min_us:
            continue
        row = f"{name[:58]:58s} {launches:8d} {total / launches:9.2f} {total:10.1f} {100 * total / everything:5.1f}%"
        print(row + (f" {total / a.forwards:15.1f}" if a.forwards else ""))

if __name__ == "__main__":
    main()
