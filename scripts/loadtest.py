#!/usr/bin/env python3
"""HTTP load generator for `uninlu serve` (standard library only).

--processes worker processes (default 1), each an asyncio loop with its share of --connections
keep-alive HTTP/1.1 connections, send POST /predict (the short 4-label request unless --body).
After a warm-up (--warmup requests, or --warmup-seconds, on the same connections) every worker
starts measuring at the same moment, for at most --duration seconds and --requests requests in all:

  closed loop (default): each connection sends its next request as soon as the last is answered;
  open loop (--rate R):  requests are scheduled at R per second in all, whatever the answers do;
                         latency counts from the scheduled time (so queueing in the client counts,
                         no coordinated omission), and a schedule the connections cannot keep up
                         with shows as latency, not as a lower offered rate.

Latencies of all workers are merged before the percentiles. Every answer must be 200. The record
also says who was busy: the CPU time of the workers (client), of the server process (--server-pid,
or the server this script started) and of the whole machine, as cores over the measured seconds;
and, when the server answers /metrics, how its forwards batched during the measurement.

With --server-binary/--model it starts the server itself on a free loopback port and at the end
sends SIGTERM and checks it exits 0. Otherwise it loads --url.

  scripts/loadtest.py --server-binary .build/release/uninlu --model Tests/Fixtures/siamese_uie/model \\
      --connections 32 --requests 20000 --duration 30 --output bench/results/cpu.json
  scripts/loadtest.py --url http://127.0.0.1:8000 --server-pid 1234 --processes 4 --connections 64 --duration 10
  scripts/loadtest.py --url http://127.0.0.1:8000 --processes 4 --connections 128 --rate 5000 --duration 10
"""
import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import re
import resource
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime, timezone

SHORT_REQUEST = {"text": "帮我定一张明天去上海的机票", "labels": ["出发地", "目的地", "时间", "订票意图"]}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# ---------------------------------------------------------------------------------------------
# One connection


class Connection:
    def __init__(self, host, port, head_and_body):
        self.host, self.port, self.request = host, port, head_and_body
        self.reader = self.writer = None

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self):
        if self.writer:
            self.writer.close()
            self.writer = None

    async def exchange(self):
        """Sends the request, returns the status of the answer (reconnects once on a dropped connection)."""
        for attempt in (0, 1):
            try:
                if self.writer is None:
                    await self.open()
                self.writer.write(self.request)
                return await self.read_response()
            except (ConnectionError, asyncio.IncompleteReadError, OSError):
                self.close()
                if attempt:
                    raise
        raise ConnectionError("unreachable")

    async def read_response(self):
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        at = lower.find(b"\r\ncontent-length:")
        if at >= 0:
            end = lower.index(b"\r\n", at + 2)
            length = int(lower[at + 17:end])
            if length:
                await self.reader.readexactly(length)
        elif b"chunked" in lower:
            while True:
                size = int((await self.reader.readline()).strip().split(b";")[0], 16)
                if size == 0:
                    await self.reader.readline()
                    break
                await self.reader.readexactly(size + 2)
        return status


# ---------------------------------------------------------------------------------------------
# One worker process


class Tally:
    def __init__(self):
        self.latencies = []
        self.statuses = {}
        self.errors = 0
        self.unfinished = 0

    def add(self, status, latency):
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if latency is not None:
            self.latencies.append(latency)


async def closed_loop(connections, deadline, budget, tally, measure):
    left = [budget]

    async def one(connection):
        while time.monotonic() < deadline and left[0] > 0:
            left[0] -= 1
            start = time.perf_counter()
            try:
                status = await connection.exchange()
            except Exception:
                tally.errors += 1
                continue
            tally.add(status, time.perf_counter() - start if measure else None)

    await asyncio.gather(*(one(c) for c in connections))


async def open_loop(connections, start, duration, rate, budget, tally, drain_seconds):
    """Schedules min(rate*duration, budget) requests at `rate`/s from `start` (time.monotonic())."""
    total = min(int(rate * duration), budget)
    queue = asyncio.Queue()
    hard_deadline = start + duration + drain_seconds

    async def one(connection):
        while True:
            scheduled = await queue.get()
            if scheduled is None:
                return
            if time.monotonic() > hard_deadline:
                tally.unfinished += 1
                continue
            try:
                status = await connection.exchange()
            except Exception:
                tally.errors += 1
                continue
            # From the scheduled time: waiting for a free connection counts.
            tally.add(status, time.monotonic() - scheduled)

    tasks = [asyncio.create_task(one(c)) for c in connections]
    k = 0
    while k < total:
        now = time.monotonic()
        while k < total and start + k / rate <= now:
            queue.put_nowait(start + k / rate)
            k += 1
        if k < total:
            await asyncio.sleep(max(0.0, start + k / rate - time.monotonic()))
    for _ in tasks:
        queue.put_nowait(None)
    await asyncio.gather(*tasks)


def cpu_seconds_self():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def worker_async(config, index, barrier, results):
    host, port = config["host"], config["port"]
    count = config["connections_per_worker"][index]
    request = config["request"]
    connections = [Connection(host, port, request) for _ in range(count)]
    for c in connections:
        await c.open()
    loop = asyncio.get_running_loop()
    warmup = Tally()
    await closed_loop(connections, time.monotonic() + config["warmup_seconds"], config["warmup_share"][index], warmup, False)
    # Everyone starts measuring together.
    await loop.run_in_executor(None, barrier.wait)
    start = time.monotonic()
    cpu_start = cpu_seconds_self()
    tally = Tally()
    if config["rate"]:
        await open_loop(connections, start, config["duration"], config["rate"] / config["processes"],
                        config["budget_share"][index], tally, config["drain_seconds"])
    else:
        await closed_loop(connections, start + config["duration"], config["budget_share"][index], tally, True)
    elapsed = time.monotonic() - start
    cpu = cpu_seconds_self() - cpu_start
    for c in connections:
        c.close()
    results.put({
        "index": index, "latencies": tally.latencies, "statuses": tally.statuses, "errors": tally.errors + warmup.errors,
        "warmup_statuses": warmup.statuses, "unfinished": tally.unfinished, "elapsed": elapsed, "cpu_seconds": cpu,
    })


def worker(config, index, barrier, results):
    try:
        asyncio.run(worker_async(config, index, barrier, results))
    except BaseException as error:  # report instead of hanging the parent at the barrier
        try:
            barrier.abort()
        except Exception:
            pass
        results.put({"index": index, "failure": repr(error)})


# ---------------------------------------------------------------------------------------------
# Measurements around the run


def process_cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime
    except (OSError, IndexError, ValueError):
        return None


def machine_cpu():
    """(busy, total) jiffies of all cores from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        return sum(values) - idle, sum(values)
    except (OSError, ValueError):
        return None


def scrape_metrics(host, port):
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    except Exception:
        return None
    samples = {}
    for line in text.splitlines():
        if line.startswith("#") or " " not in line:
            continue
        series, _, value = line.rpartition(" ")
        try:
            samples[series] = float(value)
        except ValueError:
            pass
    return samples


def metrics_delta(before, after):
    """What the server's forwards did between two scrapes."""
    if not before or not after:
        return None

    def total(prefix, contains=""):
        def pick(samples):
            return sum(v for k, v in samples.items() if k.startswith(prefix) and contains in k
                       and (len(k) == len(prefix) or k[len(prefix)] in "{ "))
        return pick(after) - pick(before)

    out = {}
    for kind in ("encode", "pointer", "rex"):
        forwards = total("uninlu_forwards_total", f'kind="{kind}"')
        seconds = total("uninlu_forward_duration_seconds_sum", f'kind="{kind}"')
        out[kind] = {"forwards": forwards, "mean_forward_ms": round(1000 * seconds / forwards, 3) if forwards else None,
                     "engine_seconds": round(seconds, 3)}
    batches = total("uninlu_batch_size_count")
    out["mean_jobs_per_forward"] = round(total("uninlu_batch_size_sum") / batches, 2) if batches else None
    out["mean_rows_per_forward"] = round(total("uninlu_batch_tokens_sum") / batches, 1) if batches else None
    queued = total("uninlu_queue_time_seconds_count")
    out["mean_job_queue_ms"] = round(1000 * total("uninlu_queue_time_seconds_sum") / queued, 3) if queued else None
    phases = {}
    for name in ("queue", "inference", "tokenization"):
        count = total(f"uninlu_request_{name}_time_seconds_count")
        phases[name] = round(1000 * total(f"uninlu_request_{name}_time_seconds_sum") / count, 3) if count else None
    out["mean_request_phase_ms"] = phases
    out["dropped_jobs"] = total("uninlu_dropped_jobs_total")
    out["forward_failures"] = total("uninlu_forward_failures_total")
    return out


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, int(round(q / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[index]


def split(total, parts):
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def run_load(args, host, port, payload, server_pid):
    processes = max(1, min(args.processes, args.connections))
    head = (f"POST /predict HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n").encode()
    config = {
        "host": host, "port": port, "request": head + payload, "processes": processes,
        "connections_per_worker": split(args.connections, processes),
        "warmup_share": split(args.warmup, processes), "warmup_seconds": args.warmup_seconds,
        "budget_share": split(args.requests, processes), "duration": args.duration, "rate": args.rate,
        "drain_seconds": args.drain_seconds,
    }
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes + 1)
    results = context.Queue()
    workers = [context.Process(target=worker, args=(config, i, barrier, results), daemon=True) for i in range(processes)]
    for w in workers:
        w.start()
    try:
        barrier.wait(timeout=args.warmup_seconds + 120)
    except threading.BrokenBarrierError:
        pass
    metrics_before = scrape_metrics(host, port)
    server_cpu_before = process_cpu_seconds(server_pid) if server_pid else None
    machine_before = machine_cpu()
    start = time.monotonic()
    collected = []
    deadline = start + args.duration + args.drain_seconds + 60
    while len(collected) < processes and time.monotonic() < deadline:
        try:
            collected.append(results.get(timeout=max(0.1, deadline - time.monotonic())))
        except Exception:
            break
    wall = time.monotonic() - start
    server_cpu_after = process_cpu_seconds(server_pid) if server_pid else None
    machine_after = machine_cpu()
    metrics_after = scrape_metrics(host, port)
    for w in workers:
        w.join(timeout=5)
        if w.is_alive():
            w.terminate()
    failures = [r["failure"] for r in collected if "failure" in r]
    done = [r for r in collected if "failure" not in r]
    if failures or len(done) < processes:
        raise SystemExit(f"load workers failed: {failures or 'a worker did not report'}")

    latencies = sorted(x for r in done for x in r["latencies"])
    statuses = {}
    for r in done:
        for k, v in r["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    measured = max(r["elapsed"] for r in done)
    client_cpu = sum(r["cpu_seconds"] for r in done)
    record = {
        "mode": f"open loop at {args.rate:g} req/s" if args.rate else "closed loop",
        "offered_rate": args.rate,
        "processes": processes,
        "connections": args.connections,
        "measured_requests": len(latencies),
        "seconds": round(measured, 3),
        "requests_per_second": round(len(latencies) / measured, 1) if measured > 0 else None,
        "latency_ms": {q: round(percentile(latencies, float(q[1:])) * 1000, 3) if latencies else None
                       for q in ("p50", "p90", "p99", "p99.9")},
        "latency_ms_max": round(latencies[-1] * 1000, 3) if latencies else None,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "connection_errors": sum(r["errors"] for r in done),
        "unfinished": sum(r["unfinished"] for r in done),
        "cpu": {
            "logical_cores": os.cpu_count(),
            "client_cores": round(client_cpu / measured, 2) if measured > 0 else None,
            "client_busiest_worker_core_share": round(max(r["cpu_seconds"] / r["elapsed"] for r in done), 2),
            "server_cores": (round((server_cpu_after - server_cpu_before) / wall, 2)
                             if server_cpu_before is not None and server_cpu_after is not None else None),
            "machine_busy_cores": (round((machine_after[0] - machine_before[0]) / (machine_after[1] - machine_before[1])
                                         * (os.cpu_count() or 1), 2)
                                   if machine_before and machine_after and machine_after[1] > machine_before[1] else None),
        },
        "server_metrics": metrics_delta(metrics_before, metrics_after),
    }
    ok = statuses.get(200, 0)
    passed = ok == sum(statuses.values()) and ok > 0 and not record["connection_errors"] and not record["unfinished"]
    return record, passed


# ---------------------------------------------------------------------------------------------


def start_server(binary, model, extra):
    process = subprocess.Popen([binary, "serve", "--model", model, "--port", "0", *extra],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            raise SystemExit(f"server exited early with {process.wait()}")
        match = re.search(r"port=(\d+)", line)
        if "listening" in line and match:
            # Keep draining the server's log so a full pipe never blocks it.
            threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()
            return process, int(match.group(1))
    raise SystemExit("server did not start within 120 s")


def git_commit():
    try:
        return subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], text=True, stderr=subprocess.DEVNULL).strip()
    except Exception:
        return "unknown"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="server to load (ignored with --server-binary)")
    parser.add_argument("--server-binary", help="start this uninlu binary and load it")
    parser.add_argument("--model", help="model directory for --server-binary")
    parser.add_argument("--server-arg", action="append", default=[], help="extra `uninlu serve` argument (repeatable)")
    parser.add_argument("--server-pid", type=int, help="pid of the server under --url, to record its CPU time")
    parser.add_argument("--processes", type=int, default=1, help="worker processes sharing the connections")
    parser.add_argument("--connections", type=int, default=32, help="connections in all")
    parser.add_argument("--rate", type=float, default=0, help="open loop: requests per second in all (0: closed loop)")
    parser.add_argument("--requests", type=int, default=10000, help="measured requests, at most")
    parser.add_argument("--duration", type=float, default=60, help="seconds of measurement, at most")
    parser.add_argument("--warmup", type=int, default=500, help="warm-up requests, at most (not measured)")
    parser.add_argument("--warmup-seconds", type=float, default=60, help="warm-up seconds, at most")
    parser.add_argument("--drain-seconds", type=float, default=10, help="open loop: how long to wait for late answers")
    parser.add_argument("--body", help="JSON body (default: the short 4-label request)")
    parser.add_argument("--device", default="", help="what serves (e.g. 'NVIDIA H100 80GB HBM3, cuda fp16'), stored")
    parser.add_argument("--note", default="", help="free text stored with the result")
    parser.add_argument("--output", help="write the JSON record here")
    args = parser.parse_args()
    if args.connections < 1 or args.processes < 1:
        parser.error("--connections and --processes must be positive")

    payload = (args.body or json.dumps(SHORT_REQUEST, ensure_ascii=False)).encode()
    server = None
    if args.server_binary:
        if not args.model:
            parser.error("--server-binary needs --model")
        server, port = start_server(args.server_binary, args.model, args.server_arg)
        host = "127.0.0.1"
        server_pid = server.pid
    else:
        match = re.match(r"http://([^:/]+):(\d+)", args.url)
        if not match:
            parser.error("--url must look like http://HOST:PORT")
        host, port = match.group(1), int(match.group(2))
        server_pid = args.server_pid

    exit_code = None
    try:
        record, passed = run_load(args, host, port, payload, server_pid)
    finally:
        if server:
            server.send_signal(signal.SIGTERM)
            try:
                exit_code = server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                exit_code = "killed after 60 s"

    record = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "host": {"cpu": cpu_model(), "logical_cores": os.cpu_count()},
        "device": args.device,
        "request": json.loads(payload),
        **record,
        "server_args": args.server_arg,
        "server_exit_code_after_sigterm": exit_code,
        "note": args.note,
    }
    text = json.dumps(record, ensure_ascii=False, indent=2)
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text + "\n")
    failed = not passed or (server and exit_code != 0)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
