"""Load test of the scoring API: single-account ``POST /api/v1/score`` on loopback.

    python benchmarks/api.py                      # builds a sample workspace first
    python benchmarks/api.py --workspace ws --requests 20000 --seconds 60 --clients 50

The server runs as ``icp serve`` in its own process; this process is the
load generator: ``--clients`` concurrent keep-alive HTTP/1.1 connections,
each sending the next request as soon as the previous answer arrived (a
closed loop, the harshest reading of "N concurrent clients"). Every account
is a different row of the sample, sent as the JSON a CRM would send. The run
stops by itself after ``--requests`` requests or ``--seconds`` seconds,
whichever comes first, and prints throughput, latency percentiles and
errors as JSON.

The client is a minimal asyncio HTTP/1.1 client rather than httpx: on this
2-core machine httpx's async client tops out far below the server, and the
benchmark would measure the client.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(workspace: Path | None, accounts: int) -> tuple[Path, list[dict[str, Any]], str]:
    """A built workspace, account records to send, and a token."""
    import pandas as pd

    from icpkit.sample import write_sample
    from icpkit.web.auth import create_token
    from icpkit.workspace import Workspace

    if workspace is None:
        from icpkit.pipeline import run_all

        workspace = Path(tempfile.mkdtemp(prefix="icp-bench-")) / "ws"
        files = write_sample(workspace.parent / "sample", n_accounts=accounts)
        run_all({"accounts": files["accounts"], "deals": files["deals"]}, workspace)
        acc = pd.read_csv(files["accounts"], dtype=str, keep_default_na=False)
    else:
        with Workspace(workspace, read_only=True) as ws:
            acc = ws.table("accounts").astype(object)
        acc = acc.map(
            lambda v: ";".join(v) if hasattr(v, "tolist") and not isinstance(v, str) else v
        )
        acc = acc.astype(str).replace({"None": "", "nan": ""})
    with Workspace(workspace) as ws:
        token = create_token(ws, "benchmark")
    records = [{k: (v or None) for k, v in r.items()} for r in acc.to_dict("records")]
    return workspace, records, token


def start_server(workspace: Path, port: int) -> subprocess.Popen[bytes]:
    code = "from icpkit.cli import main; main()"
    cmd = [sys.executable, "-c", code, "serve", "--workspace", str(workspace), "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return proc
        except OSError:
            time.sleep(0.2)
        if proc.poll() is not None:
            raise SystemExit(
                f"the server exited: {proc.stderr.read().decode() if proc.stderr else ''}"
            )
    proc.terminate()
    raise SystemExit("the server did not start within 60 s")


async def load(
    port: int,
    token: str,
    records: list[dict[str, Any]],
    clients: int,
    total: int,
    seconds: float,
    warmup: int,
) -> dict[str, Any]:
    bodies = [json.dumps({"account": r}).encode() for r in records]
    head = (
        "POST /api/v1/score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: %d\r\n\r\n"
    )
    lat: list[float] = []
    errors: dict[str, int] = {}
    state = {"sent": 0}

    def error(kind: str) -> None:
        errors[kind] = errors.get(kind, 0) + 1

    async def client(limit: int, stop_at: float, measure: bool) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while state["sent"] < limit and time.perf_counter() < stop_at:
                body = bodies[state["sent"] % len(bodies)]
                state["sent"] += 1
                t = time.perf_counter()
                writer.write((head % len(body)).encode() + body)
                await writer.drain()
                status = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in status.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                payload = await reader.readexactly(length)
                dt = time.perf_counter() - t
                if not measure:
                    continue
                lat.append(dt)
                if not status.startswith(b"HTTP/1.1 200"):
                    error(status.split(b"\r\n")[0].decode())
                elif b'"score"' not in payload:
                    error("no score in the answer")
        except (OSError, asyncio.IncompleteReadError) as exc:
            if measure:
                error(type(exc).__name__)
        finally:
            writer.close()

    # warm-up (token check, caches), then the measured run
    await asyncio.gather(*(client(warmup, time.perf_counter() + 30, False) for _ in range(clients)))
    state["sent"] = 0
    t0 = time.perf_counter()
    await asyncio.gather(*(client(total, t0 + seconds, True) for _ in range(clients)))
    elapsed = time.perf_counter() - t0
    lat.sort()

    def pct(p: float) -> float:
        return round(lat[min(len(lat) - 1, int(len(lat) * p))] * 1000, 2) if lat else float("nan")

    return {
        "clients": clients,
        "requests": len(lat),
        "seconds": round(elapsed, 2),
        "throughput_rps": round(len(lat) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": round(lat[-1] * 1000, 2) if lat else float("nan"),
        "errors": sum(errors.values()),
        "error_kinds": errors,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", type=Path, help="a built workspace (default: build the sample)")
    ap.add_argument("--accounts", type=int, default=2000, help="sample size when building one")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=20_000, help="stop after this many requests")
    ap.add_argument("--seconds", type=float, default=60.0, help="stop after this long")
    ap.add_argument("--warmup", type=int, default=500)
    args = ap.parse_args()
    workspace, records, token = prepare(args.workspace, args.accounts)
    port = _free_port()
    server = start_server(workspace, port)
    try:
        result = asyncio.run(
            load(port, token, records, args.clients, args.requests, args.seconds, args.warmup)
        )
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
    result["cpus"] = os.cpu_count()
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    result["python"] = sys.version.split()[0]
    try:
        import httptools  # noqa: F401

        result["http_parser"] = "httptools"
    except ImportError:
        result["http_parser"] = "h11"
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
