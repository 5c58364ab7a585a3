"""`digitnet serve` under load: predict requests at a given concurrency, latency percentiles and errors.

Starts `digitnet serve` on 127.0.0.1 in its own process, sends N requests to /api/predict from C
concurrent connections, and reports the median and 99th percentile latency as the client sees it,
the errors, the throughput, the server's resident memory before and after, and whether it still
answers. Two bodies: a drawing as the page sends it (a PNG data URL, preprocessed on the server)
and 28x28 pixels (no preprocessing). The client is wrk where it is installed (Debian's `wrk`: C,
it takes little of the CPUs the server needs), else asyncio + httpx in this process.

    python benchmarks/bench_serve.py --model m.npz [--requests 10000] [--concurrency 32] [--workers N]
"""
import argparse
import asyncio
import base64
import io
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import httpx
import numpy as np
from PIL import Image, ImageDraw


def drawing():
    """A 7 drawn on a 280x280 white canvas, as the page sends it."""
    image = Image.new("RGBA", (280, 280), "white")            # a canvas: opaque white, with alpha
    ImageDraw.Draw(image).line([(80, 70), (200, 70), (120, 230)], fill="black", width=18, joint="curve")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return {"image": "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()}


def pixels():
    rng = np.random.default_rng(0)
    x = np.zeros((28, 28))
    x[6:22, 12:16] = rng.uniform(0.5, 1, (16, 4))
    return {"pixels": x.round(3).tolist()}


def server_mb(pid):
    """Resident memory of the server: the process and its workers."""
    pids = [pid] + [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                                    text=True).stdout.split()]
    total = 0
    for one in pids:
        with open(f"/proc/{one}/status") as status:
            total += int(next(line for line in status if line.startswith("VmRSS:")).split()[1]) / 1024
    return total


async def load(url, body, requests, concurrency):
    """(latencies in ms, errors) of `requests` POSTs of `body`, `concurrency` at a time."""
    payload = json.dumps(body).encode()
    latencies, errors, left = [], [], iter(range(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        async def worker():
            for _ in left:
                start = time.perf_counter()
                try:
                    response = await client.post("/api/predict", content=payload,
                                                 headers={"content-type": "application/json"})
                    if response.status_code != 200:
                        errors.append(response.status_code)
                except httpx.HTTPError as e:
                    errors.append(type(e).__name__)
                latencies.append(1000 * (time.perf_counter() - start))
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors


WRK_SCRIPT = """
wrk.method, wrk.body = "POST", [==[%s]==]
wrk.headers["Content-Type"] = "application/json"
"""


def load_with_wrk(url, body, seconds, concurrency):
    """(p50 ms, p99 ms, errors, requests per second, requests) measured by wrk over `seconds`."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % json.dumps(body))
    out = subprocess.run(["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "--latency", "-s", script.name,
                          f"{url}/api/predict"], capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)

    def ms(label):
        value, unit = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 1e-3, "ms": 1, "s": 1e3}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    done = int(re.search(r"(\d+) requests in", out).group(1))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return ms("50"), ms("99"), int(errors.group(1)) if errors else 0, rate, done


def measure(url, body, requests, concurrency, client):
    """(p50 ms, p99 ms, errors, requests per second, requests sent)."""
    if client == "wrk":                      # wrk runs for a time: the warm-up's rate sets it to about `requests`
        rate = load_with_wrk(url, body, 2, concurrency)[3]
        return load_with_wrk(url, body, max(2, round(requests / rate)), concurrency)
    asyncio.run(load(url, body, 200, concurrency))                                 # warm up
    start = time.perf_counter()
    latencies, errors = asyncio.run(load(url, body, requests, concurrency))
    q = statistics.quantiles(latencies, n=100)
    return q[49], q[98], len(errors), requests / (time.perf_counter() - start), requests


def listening(port):
    """How many sockets listen on TCP `port` of this machine (Linux's /proc; None elsewhere)."""
    if not os.path.exists("/proc/net/tcp"):
        return None
    lines = [line.split() for table in ("/proc/net/tcp", "/proc/net/tcp6") if os.path.exists(table)
             for line in open(table).read().splitlines()[1:]]
    return sum(int(f[1].rsplit(":", 1)[1], 16) == port and f[3] == "0A" for f in lines)      # 0A: LISTEN


def start_server(model, port, workers):
    """`digitnet serve` on `port`, once it answers and every worker listens (each has a socket of its
    own on Linux: the first requests would otherwise all go to the worker that started first)."""
    process = subprocess.Popen([sys.executable, "-m", "digitnet", "serve", "--model", model, "--port", str(port),
                                "--workers", str(workers)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(400):
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/health")
            if listening(port) in (None, workers):
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    process.kill()
    raise SystemExit(f"the server did not start: {process.stderr.read().decode()}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="a model file, e.g. from `digitnet train --out m.npz`")
    p.add_argument("--requests", type=int, default=10_000)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--workers", type=int, default=1, help="server processes (digitnet serve --workers)")
    p.add_argument("--client", choices=("auto", "wrk", "httpx"), default="auto")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    client = ("wrk" if shutil.which("wrk") else "httpx") if args.client == "auto" else args.client
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    server = start_server(args.model, port, args.workers)
    try:
        report = {"requests": args.requests, "concurrency": args.concurrency, "workers": args.workers,
                  "client": client, "cpus": len(os.sched_getaffinity(0))}
        for name, body in (("drawing", drawing()), ("pixels", pixels())):
            before = server_mb(server.pid)
            p50, p99, errors, per_second, sent = measure(url, body, args.requests, args.concurrency, client)
            report[name] = {"p50_ms": p50, "p99_ms": p99, "errors": errors, "per_second": per_second, "sent": sent,
                            "server_mb_before": before, "server_mb_after": server_mb(server.pid)}
        report["answers_afterwards"] = httpx.get(f"{url}/api/health").json() == {"status": "ok"}
    finally:
        server.terminate()
        server.wait(10)
    if args.json:
        print(json.dumps(report))
        return
    print(f"{args.requests:,} requests at concurrency {args.concurrency}, {args.workers} server process(es), "
          f"{report['cpus']} CPUs, client ({client}) and server on this machine")
    for name in ("drawing", "pixels"):
        r = report[name]
        print(f"{name:<8} {r['sent']:,} requests: p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
              f"{r['errors']} errors, "
              f"{r['per_second']:.0f} requests/s, server memory {r['server_mb_before']:.0f} -> "
              f"{r['server_mb_after']:.0f} MB")
    print(f"the server answers afterwards: {report['answers_afterwards']}")


if __name__ == "__main__":
    main()
