#!/usr/bin/env python3
"""Closed-loop HTTP load generator for `uninlu serve` (standard library only).

Opens --connections keep-alive HTTP/1.1 connections to the server and, on each, sends POST
/predict requests back to back until --requests have been sent in all or --duration seconds have
passed (whichever comes first), after --warmup requests that are not measured. Reports req/s and
latency percentiles, checks every answer is 200, and writes a JSON record.

With --server-binary/--model it starts the server itself on a free loopback port, and at the end
sends SIGTERM and checks it exits 0.

  scripts/loadtest.py --server-binary .build-srv/release/uninlu --model Tests/Fixtures/siamese_uie/model \
      --connections 32 --requests 20000 --duration 60 --output bench/results/cpu.json
"""
import argparse
import asyncio
import json
import os
import platform
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

SHORT_REQUEST = {"text": "帮我定一张明天去上海的机票", "labels": ["出发地", "目的地", "时间", "订票意图"]}


class Stats:
    def __init__(self):
        self.latencies = []
        self.statuses = {}
        self.errors = 0


async def read_response(reader):
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed")
    status = int(status_line.split()[1])
    length, chunked = None, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        body = b""
        while True:
            size = int((await reader.readline()).strip(), 16)
            if size == 0:
                await reader.readline()
                break
            body += await reader.readexactly(size)
            await reader.readline()
    else:
        body = await reader.readexactly(length or 0)
    return status, body


async def connection_loop(host, port, payload, budget, deadline, stats, measure):
    reader, writer = await asyncio.open_connection(host, port)
    head = (f"POST /predict HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n").encode()
    try:
        while time.monotonic() < deadline and budget.take():
            start = time.perf_counter()
            writer.write(head + payload)
            await writer.drain()
            try:
                status, _ = await read_response(reader)
            except (ConnectionError, asyncio.IncompleteReadError):
                stats.errors += 1
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            elapsed = time.perf_counter() - start
            stats.statuses[status] = stats.statuses.get(status, 0) + 1
            if measure:
                stats.latencies.append(elapsed)
    finally:
        writer.close()


class Budget:
    def __init__(self, count):
        self.left = count

    def take(self):
        if self.left <= 0:
            return False
        self.left -= 1
        return True


async def run_phase(host, port, payload, connections, count, seconds, measure):
    stats = Stats()
    budget = Budget(count)
    deadline = time.monotonic() + seconds
    start = time.perf_counter()
    await asyncio.gather(*(connection_loop(host, port, payload, budget, deadline, stats, measure)
                           for _ in range(connections)))
    return stats, time.perf_counter() - start


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, int(round(q / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[index]


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
        return subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], text=True).strip()
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
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--requests", type=int, default=10000, help="measured requests, at most")
    parser.add_argument("--duration", type=float, default=60, help="seconds of measurement, at most")
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--body", help="JSON body (default: the short 4-label request)")
    parser.add_argument("--note", default="", help="free text stored with the result")
    parser.add_argument("--output", help="write the JSON record here")
    args = parser.parse_args()

    payload = (args.body or json.dumps(SHORT_REQUEST, ensure_ascii=False)).encode()
    server = None
    if args.server_binary:
        if not args.model:
            parser.error("--server-binary needs --model")
        server, port = start_server(args.server_binary, args.model, args.server_arg)
        host = "127.0.0.1"
    else:
        match = re.match(r"http://([^:/]+):(\d+)", args.url)
        if not match:
            parser.error("--url must look like http://HOST:PORT")
        host, port = match.group(1), int(match.group(2))

    exit_code = None
    try:
        asyncio.run(run_phase(host, port, payload, args.connections, args.warmup, 60, False))
        stats, elapsed = asyncio.run(run_phase(host, port, payload, args.connections, args.requests, args.duration, True))
    finally:
        if server:
            server.send_signal(signal.SIGTERM)
            try:
                exit_code = server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                exit_code = "killed after 60 s"

    latencies = sorted(stats.latencies)
    ok = stats.statuses.get(200, 0)
    record = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "device": {"kind": "cpu", "model": cpu_model(), "logical_cores": os.cpu_count()},
        "request": json.loads(payload),
        "connections": args.connections,
        "measured_requests": len(latencies),
        "seconds": round(elapsed, 3),
        "requests_per_second": round(len(latencies) / elapsed, 1) if elapsed > 0 else None,
        "latency_ms": {q: round(percentile(latencies, float(q[1:])) * 1000, 3) if latencies else None
                       for q in ("p50", "p90", "p99", "p99.9")},
        "latency_ms_max": round(latencies[-1] * 1000, 3) if latencies else None,
        "statuses": {str(k): v for k, v in sorted(stats.statuses.items())},
        "connection_errors": stats.errors,
        "server_args": args.server_arg,
        "server_exit_code_after_sigterm": exit_code,
        "note": args.note,
    }
    text = json.dumps(record, ensure_ascii=False, indent=2)
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text + "\n")
    failed = ok != sum(stats.statuses.values()) or stats.errors or (server and exit_code != 0)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
