#!/usr/bin/env bash
# The GPU load test of `uninlu serve` (issue #6): goal on one H100 with the base-size model
# ≥ 5,000 req/s at p99 ≤ 20 ms for the short 4-label request.
#
# Run on the GPU machine from the repository root, with the static binary at /tmp/uninlu or carried
# as .carry/uninlu.xz (bash scripts/gpu/pack.sh here, carry [".carry"]):
#     bash scripts/gpu/loadtest-serve.sh
# Steps, each under `timeout`, all logged to $OUT/loadtest.log:
#   1. a random base-size SiameseUIE model (BERT 12x768) made with PyTorch (scripts/gpu/bench_bert.py);
#   2. `uninlu serve --backend cuda --precision fp16` on loopback (defaults: 16,384-row forwards,
#      0.5 ms wait), /ready recorded; scripts/loadtest.py with 4 worker processes: closed loop at
#      16/32/64/128 connections, then open loop at 5,000 and 7,500 req/s (latency from the scheduled
#      time); /metrics saved; SIGTERM, exit code must be 0;
#   3. the same server with --max-batch-wait-ms 0 (closed loop, 64 connections), for the wait default;
#      and with --devices 0,0 (two replicas on the one GPU: does a second stream/model thread help?),
#      closed loop at 64 and 128 connections;
#   4. a CPU row: `--backend cpu` with the tiny fixture model (a floor for the HTTP path, not a model
#      comparison), closed loop at 32 connections.
# Writes $OUT/loadtest-*.json (one per phase: req/s, p50..p99.9, statuses, client/server/machine CPU
# cores, batching from /metrics), $OUT/loadtest-summary.json and a table at the end of the log
# (with the mean GPU utilisation per phase from nvidia-smi samples in $OUT/gpu-util.csv).
# Knobs: DURATION (s per phase, default 6), PROCESSES (load workers, default 4), SKIP_CPU=1,
# QUICK=1 (skip phases 3 and 3b), MULTI_GPU=0,1 (phase 3c: --devices 0,1 beside the one-GPU rows, for
# the several-GPU goal of >= 1.8x the one-GPU throughput), CLOSED="16 32 64 128" (closed-loop connections),
# OPEN="5000 7500" (open-loop rates), SERVE_EXTRA (more flags for the CUDA servers),
# UNINLU_BIN (binary, default /tmp/uninlu), LOCAL_CPU_TEST=1 (no GPU: the "cuda" phases run the CPU
# backend on the fixture model; only to check this script on a machine without a GPU).
set -u -o pipefail
OUT=${OUT:-/tmp/uninlu-out}
mkdir -p "$OUT"
LOG="$OUT/loadtest.log"
exec > >(tee -a "$LOG") 2>&1
DURATION=${DURATION:-6}
PROCESSES=${PROCESSES:-4}
export PYTHONUNBUFFERED=1
FAILED=0
note() { echo "== $(date -u +%H:%M:%S) $*"; }

BIN=${UNINLU_BIN:-/tmp/uninlu}
if [ ! -x "$BIN" ]; then
    xz -dc .carry/uninlu.xz > "$BIN" && chmod +x "$BIN" || { echo "no binary at /tmp/uninlu and no .carry/uninlu.xz"; exit 2; }
fi
COMMIT=$(cat .carry/commit 2>/dev/null || git rev-parse --short HEAD 2>/dev/null || echo unknown)
GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
note "commit $COMMIT, GPU ${GPU:-none}, $(nproc) cores"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm --format=csv 2>&1 | tee "$OUT/nvidia-smi.txt"
timeout 60 "$BIN" doctor > "$OUT/doctor.txt" 2>&1

MODEL=/tmp/bench-model
# SERVE_EXTRA: more flags for the CUDA servers, e.g. "--cuda-graphs 0" (op-by-op forwards).
ENGINE=(--backend cuda --precision fp16 ${SERVE_EXTRA:-})
if [ "${LOCAL_CPU_TEST:-0}" = 1 ]; then
    MODEL=Tests/Fixtures/siamese_uie/model; ENGINE=(--backend cpu)
elif [ ! -f "$MODEL/model.safetensors" ]; then
    note "making the base-size random model"
    timeout 180 python3 scripts/gpu/bench_bert.py make-model "$MODEL" Tests/Fixtures/siamese_uie/model 2>&1 | tail -2
fi

SERVER_PID=""
PORT=""
# fetch URL: the body of a GET (python, so that curl need not be installed).
fetch() {
    python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=30).read().decode())' "$1"
}
# start_server NAME ARGS...: starts `uninlu serve ARGS --port 0` with its log in $OUT/server-NAME.log,
# waits for the port (≤ 120 s: load, NVRTC, warm-up) and records /ready.
start_server() {
    local name=$1; shift
    local log="$OUT/server-$name.log"
    note "starting server $name: serve $* --port 0"
    "$BIN" serve "$@" --port 0 --log-level notice 2> "$log" > /dev/null &
    SERVER_PID=$!
    PORT=""
    for _ in $(seq 1 240); do
        PORT=$(grep listening "$log" 2>/dev/null | grep -o 'port=[0-9]*' | head -1 | cut -d= -f2)
        [ -n "$PORT" ] && break
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.5
    done
    if [ -z "$PORT" ]; then
        echo "server $name did not start:"; tail -20 "$log"
        kill -TERM "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null
        SERVER_PID=""; FAILED=1; return 1
    fi
    timeout 40 bash -c "$(declare -f fetch); fetch http://127.0.0.1:$PORT/ready" > "$OUT/ready-$name.json" 2>&1
    echo "ready: $(cat "$OUT/ready-$name.json")"
}

# stop_server NAME: saves /metrics, sends SIGTERM, checks exit 0 (≤ 60 s).
stop_server() {
    local name=$1
    [ -n "$SERVER_PID" ] || return
    timeout 40 bash -c "$(declare -f fetch); fetch http://127.0.0.1:$PORT/metrics" > "$OUT/metrics-$name.txt" 2>&1
    kill -TERM "$SERVER_PID"
    local code=""
    for _ in $(seq 1 120); do
        kill -0 "$SERVER_PID" 2>/dev/null || { wait "$SERVER_PID"; code=$?; break; }
        sleep 0.5
    done
    if [ -z "$code" ]; then
        code="killed"; kill -KILL "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null
    fi
    echo "{\"server\": \"$name\", \"exit_code_after_sigterm\": \"$code\"}" > "$OUT/exit-$name.json"
    note "server $name exit code after SIGTERM: $code"
    [ "$code" = 0 ] || FAILED=1
    SERVER_PID=""
}

# load NAME DEVICE [loadtest.py args...]: one phase against the running server. A closed-loop
# phase fails the run on any non-200 answer or connection error; an open-loop phase only records
# what happened (past capacity, requests queue in the client and time out: that is the result).
load() {
    local name=$1 device=$2; shift 2
    note "phase $name"
    local started
    started=$(date +%s.%N)
    timeout $((DURATION + 90)) python3 scripts/loadtest.py --url "http://127.0.0.1:$PORT" --server-pid "$SERVER_PID" \
        --processes "$PROCESSES" --duration "$DURATION" --requests 10000000 --device "$device" \
        --note "$name" --output "$OUT/loadtest-$name.json" "$@" \
        | python3 -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps({k: d.get(k) for k in ("mode","connections","requests_per_second","latency_ms","statuses","cpu")}))' \
        || { case "$*" in
                 *--rate*) echo "phase $name: not every scheduled request was answered 200 in time (see its JSON)";;
                 *) echo "phase $name failed"; FAILED=1;;
             esac; }
    echo "$name $started $(date +%s.%N)" >> "$OUT/phase-times.txt"
}

# GPU utilisation and memory every 250 ms while the CUDA servers run (per-phase means in the summary).
SMI_PID=""
if command -v nvidia-smi > /dev/null; then
    nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits -lms 250 > "$OUT/gpu-util.csv" 2>&1 &
    SMI_PID=$!
fi

# 2. CUDA, the defaults.
if start_server cuda-fp16 --model "$MODEL" "${ENGINE[@]}" --devices 0; then
    DEV="${GPU:-cuda}, cuda fp16, base-size random SiameseUIE"
    # Warm-up over the range of batch shapes (GEMM algorithms are tuned per shape at first use).
    load cuda-warmup "$DEV" --connections 128 --warmup 0 --warmup-seconds 0 >/dev/null
    for c in ${CLOSED:-16 32 64 128}; do
        load "cuda-fp16-closed-c$c" "$DEV" --connections "$c" --warmup-seconds 2 --warmup 100000
    done
    for r in ${OPEN:-5000 7500}; do
        load "cuda-fp16-open-$r" "$DEV" --connections 256 --rate "$r" --warmup-seconds 2 --warmup 100000 --drain-seconds 5
    done
    stop_server cuda-fp16
fi

# 3c. Several GPUs: one replica per listed device, the same closed-loop rows as the one-GPU server.
if [ -n "${MULTI_GPU:-}" ] && start_server cuda-fp16-multi --model "$MODEL" "${ENGINE[@]}" --devices "$MULTI_GPU"; then
    DEV="${GPU:-cuda} x$(echo "$MULTI_GPU" | tr ',' '\n' | wc -l), cuda fp16, base-size random SiameseUIE, --devices $MULTI_GPU"
    load cuda-multi-warmup "$DEV" --connections 256 --warmup 0 --warmup-seconds 0 >/dev/null
    for c in ${CLOSED:-16 32 64 128} 256; do
        load "cuda-fp16-multi-closed-c$c" "$DEV" --connections "$c" --warmup-seconds 2 --warmup 100000
    done
    stop_server cuda-fp16-multi
fi

# 3. CUDA, no batching wait.
if [ "${QUICK:-0}" != 1 ] && start_server cuda-fp16-wait0 --model "$MODEL" "${ENGINE[@]}" --max-batch-wait-ms 0; then
    DEV="${GPU:-cuda}, cuda fp16, base-size random SiameseUIE, --max-batch-wait-ms 0"
    load cuda-wait0-warmup "$DEV" --connections 128 --warmup 0 --warmup-seconds 0 --duration 4 >/dev/null
    load cuda-fp16-wait0-closed-c64 "$DEV" --connections 64 --warmup-seconds 2 --warmup 100000
    stop_server cuda-fp16-wait0
fi

# 3b. CUDA, two replicas on GPU 0.
if [ "${QUICK:-0}" != 1 ] && start_server cuda-fp16-2rep --model "$MODEL" "${ENGINE[@]}" --devices 0,0; then
    DEV="${GPU:-cuda}, cuda fp16, base-size random SiameseUIE, --devices 0,0 (two replicas on one GPU)"
    load cuda-2rep-warmup "$DEV" --connections 128 --warmup 0 --warmup-seconds 0 --duration 4 >/dev/null
    load cuda-fp16-2rep-closed-c64 "$DEV" --connections 64 --warmup-seconds 2 --warmup 100000
    load cuda-fp16-2rep-closed-c128 "$DEV" --connections 128 --warmup-seconds 2 --warmup 100000
    stop_server cuda-fp16-2rep
fi

[ -n "$SMI_PID" ] && kill "$SMI_PID" 2>/dev/null

# 4. CPU row (tiny fixture model: the HTTP + pipeline path on this machine's cores).
if [ "${SKIP_CPU:-0}" != 1 ] && start_server cpu-fixture --model Tests/Fixtures/siamese_uie/model --backend cpu; then
    load cpu-fixture-closed-c32 "$(nproc)-core CPU, cpu fp32, tiny fixture model" --connections 32 --warmup-seconds 2 --warmup 100000
    stop_server cpu-fixture
fi

note "summary"
python3 - "$OUT" "$COMMIT" <<'EOF'
import glob, json, os, sys, time
from datetime import datetime
out, commit = sys.argv[1], sys.argv[2]
# Per-phase mean GPU utilisation from nvidia-smi's samples (local-time stamps) and the phase times.
samples = []
try:
    for line in open(os.path.join(out, "gpu-util.csv")):
        parts = [p.strip() for p in line.split(",")]
        try:
            stamp = datetime.strptime(parts[0], "%Y/%m/%d %H:%M:%S.%f").timestamp()  # naive: local time, as date +%s
            samples.append((stamp, float(parts[1]), float(parts[2])))
        except (ValueError, IndexError):
            pass
except OSError:
    pass
phase_times = {}
try:
    for line in open(os.path.join(out, "phase-times.txt")):
        name, start, end = line.split()
        phase_times[name] = (float(start), float(end))
except (OSError, ValueError):
    pass
def gpu_util(name):
    if name not in phase_times:
        return None
    start, end = phase_times[name]
    inside = [s for s in samples if start <= s[0] <= end]
    return round(sum(s[1] for s in inside) / len(inside), 1) if inside else None
rows = []
for path in sorted(glob.glob(os.path.join(out, "loadtest-*.json")), key=os.path.getmtime):
    if path.endswith("loadtest-summary.json") or "warmup" in path:
        continue
    d = json.load(open(path))
    lat, cpu, sm = d.get("latency_ms") or {}, d.get("cpu") or {}, d.get("server_metrics") or {}
    rows.append({
        "phase": d.get("note"), "mode": d.get("mode"), "connections": d.get("connections"),
        "unfinished": d.get("unfinished"),
        "req_s": d.get("requests_per_second"), "p50_ms": lat.get("p50"), "p99_ms": lat.get("p99"),
        "p99_9_ms": lat.get("p99.9"), "non_200": sum(v for k, v in (d.get("statuses") or {}).items() if k != "200"),
        "errors": d.get("connection_errors"), "client_cores": cpu.get("client_cores"),
        "client_busiest_worker": cpu.get("client_busiest_worker_core_share"), "server_cores": cpu.get("server_cores"),
        "machine_cores": cpu.get("machine_busy_cores"), "jobs_per_forward": sm.get("mean_jobs_per_forward"),
        "encode_ms": (sm.get("encode") or {}).get("mean_forward_ms"), "pointer_ms": (sm.get("pointer") or {}).get("mean_forward_ms"),
        "gpu_util_pct": gpu_util(d.get("note")),
        "goal_met": bool(d.get("note", "").startswith("cuda") and (d.get("requests_per_second") or 0) >= 5000
                         and (lat.get("p99") or 1e9) <= 20 and not d.get("connection_errors") and not d.get("unfinished")
                         and all(k == "200" for k in (d.get("statuses") or {}))),
    })
exits = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(out, "exit-*.json")))]
summary = {"commit": commit, "goal": ">= 5000 req/s at p99 <= 20 ms, one H100, base-size model, short 4-label request",
           "goal_met": any(r["goal_met"] for r in rows), "phases": rows, "server_exits": exits}
json.dump(summary, open(os.path.join(out, "loadtest-summary.json"), "w"), indent=2, ensure_ascii=False)
cols = ["phase", "req_s", "p50_ms", "p99_ms", "p99_9_ms", "non_200", "unfinished", "client_cores", "client_busiest_worker",
        "server_cores", "machine_cores", "jobs_per_forward", "encode_ms", "pointer_ms", "gpu_util_pct", "goal_met"]
print(" | ".join(cols))
for r in rows:
    print(" | ".join(str(r[c]) for c in cols))
print("server exits:", ", ".join(f"{e['server']}={e['exit_code_after_sigterm']}" for e in exits))
print("GOAL MET" if summary["goal_met"] else "goal not met")
EOF
note "done (failed=$FAILED); results under $OUT"
exit $FAILED
