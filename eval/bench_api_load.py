"""Load on ``POST /v1/code``: capacity, open-loop latency at 70% of it, and latency while a bulk
job runs in a separate worker process.

Starts the real service (``python -m themecoder serve``) in a subprocess on a free loopback
port, on a fresh SQLite file in a temporary folder holding a project and an ingest key. Tickets
are ~60 words (``bench_api_latency.build_tickets``), each request a different one. Per mode
(micro-batching on, then off: the baseline, in the same run):

  1. capacity: a closed loop of ``--clients`` concurrent clients for ``--capacity-s`` seconds
     (after a warm-up); completed requests per second;
  2. open loop: Poisson arrivals at ``--load`` (70%) of that mode's capacity for ``--seconds``;
     a request's latency runs from its scheduled send time (so a stalled server cannot hide
     queueing by slowing the client) to its whole response; errors are non-200 answers and
     failed or timed-out requests. Target: p99 < 300 ms, 0 errors.

Then (3): the service with ``THEMECODER_WORKER_EMBEDDED=0`` and a ``themecoder worker`` process
beside it (its torch pinned to ``--worker-threads`` threads and at nice ``--worker-nice``: bulk
work yields to interactive work); a bulk job of ``--job-items`` tickets (stored 32 per chunk)
is queued, and once the worker has stored its first chunk, Poisson requests at ``--job-load``
(50%) of the capacity with batching on are timed for ``--job-s`` seconds, after the same rate
without a job for half as long. Target: p95 < 100 ms.

Everything stays on loopback and is bounded in time. Run:
    HF_HUB_OFFLINE=1 .venv/bin/python eval/bench_api_load.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api_latency import build_tickets, free_port, make_store, summary  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "eval" / "results"


class Proc:
    """A ``python -m themecoder ...`` subprocess logging to a file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path, nice: int = 0) -> None:
        self._fh = log.open("w")
        self.log = log
        cmd = [sys.executable, "-m", "themecoder", *args]
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=self._fh,
            stderr=subprocess.STDOUT,
            preexec_fn=(lambda: os.nice(nice)) if nice else None,
        )

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._fh.close()

    def tail(self, n: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])


def server_env(db_url: str, **settings: str) -> dict[str, str]:
    env = dict(os.environ, THEMECODER_DB_URL=db_url, HF_HUB_OFFLINE="1")
    env.update({f"THEMECODER_{k.upper()}": v for k, v in settings.items()})
    return env


async def wait_ready(client: Any, server: Proc, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise SystemExit(f"the service exited:\n{server.tail()}")
        try:
            if (await client.get("/v1/health")).status_code == 200:
                return
        except Exception:  # not listening yet
            pass
        await asyncio.sleep(0.3)
    raise SystemExit(f"the service did not start:\n{server.tail()}")


async def prime(client: Any, key: str, text: str) -> None:
    """One request with a long timeout: the service loads its models on the first one."""
    r = await client.post("/v1/code", headers={"X-API-Key": key}, json={"text": text}, timeout=300)
    if r.status_code != 200:
        raise SystemExit(f"the first request failed: {r.status_code} {r.text[:300]}")


class Texts:
    def __init__(self, tickets: list[str]) -> None:
        self.tickets, self.i = tickets, 0

    def next(self) -> str:
        self.i += 1
        return self.tickets[self.i % len(self.tickets)]


FIRST_ERRORS: list[str] = []


async def one(client: Any, key: str, text: str) -> bool:
    try:
        r = await client.post("/v1/code", headers={"X-API-Key": key}, json={"text": text})
    except Exception as err:  # a timeout or a dropped connection counts as an error
        detail = f"{type(err).__name__}: {err}"
    else:
        if r.status_code == 200:
            return True
        detail = f"{r.status_code}: {r.text[:200]}"
    if len(FIRST_ERRORS) < 5:
        FIRST_ERRORS.append(detail)
    return False


async def closed_loop(client: Any, key: str, texts: Texts, clients: int, seconds: float) -> dict:
    """``clients`` clients sending back to back for ``seconds``: completed requests/s."""
    stop = time.monotonic() + seconds
    ok = errors = 0

    async def loop() -> None:
        nonlocal ok, errors
        while time.monotonic() < stop:
            if await one(client, key, texts.next()):
                ok += 1
            else:
                errors += 1

    start = time.monotonic()
    await asyncio.gather(*(loop() for _ in range(clients)))
    elapsed = time.monotonic() - start
    return {"rps": round(ok / elapsed, 2), "ok": ok, "errors": errors, "clients": clients}


async def open_loop(
    client: Any, key: str, texts: Texts, rate: float, seconds: float, seed: int = 7
) -> dict:
    """Poisson arrivals at ``rate``/s for ``seconds``; latency from the scheduled send time."""
    rng = random.Random(seed)
    latencies: list[float] = []
    errors = 0

    async def fire(at: float) -> None:
        nonlocal errors
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        if await one(client, key, texts.next()):
            latencies.append((time.monotonic() - at) * 1000)
        else:
            errors += 1

    start = time.monotonic()
    at, tasks = start, []
    while True:
        at += rng.expovariate(rate)
        if at - start > seconds:
            break
        tasks.append(asyncio.create_task(fire(at)))
    await asyncio.gather(*tasks)
    out: dict[str, Any] = {"rate": round(rate, 2), "sent": len(tasks), "errors": errors}
    out.update(summary(latencies) if latencies else {})
    return out


async def mode(args: argparse.Namespace, db_url: str, key: str, batching: bool, tmp: Path) -> dict:
    import httpx

    port = free_port()
    env = server_env(db_url, code_batching="1" if batching else "0", worker_embedded="0")
    server = Proc(["serve", "--port", str(port)], env, tmp / f"serve-{batching}.log")
    texts = Texts(build_tickets(500))
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=args.timeout, limits=limits
        ) as client:
            await wait_ready(client, server)
            await prime(client, key, texts.next())
            await closed_loop(client, key, texts, args.clients, args.warmup_s)  # warm-up
            cap = await closed_loop(client, key, texts, args.clients, args.capacity_s)
            if not cap["ok"]:
                raise SystemExit(f"no request succeeded: {FIRST_ERRORS}\n{server.tail()}")
            load = await open_loop(client, key, texts, args.load * cap["rps"], args.seconds)
    finally:
        server.stop()
    return {"batching": batching, "capacity": cap, "open_loop": load}


async def with_job(args: argparse.Namespace, db_url: str, key: str, tmp: Path, rate: float) -> dict:
    import httpx

    port = free_port()
    # Small chunks, so the job shows progress soon after the worker has loaded its model.
    env = server_env(db_url, code_batching="1", worker_embedded="0", job_chunk_items="32")
    server = Proc(["serve", "--port", str(port)], env, tmp / "serve-job.log")
    threads = str(args.worker_threads)
    wenv = dict(env, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    worker = Proc(["worker"], wenv, tmp / "worker.log", nice=args.worker_nice)
    texts = Texts(build_tickets(500))
    bulk = [
        {"external_id": f"B-{i}", "text": t} for i, t in enumerate(build_tickets(args.job_items))
    ]
    h = {"X-API-Key": key}
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=args.timeout
        ) as client:
            await wait_ready(client, server)
            await prime(client, key, texts.next())
            await closed_loop(client, key, texts, 4, args.warmup_s)
            idle = await open_loop(client, key, texts, rate, args.job_s / 2, seed=11)
            job = (await client.post("/v1/jobs/code", headers=h, json={"items": bulk})).json()
            deadline = time.monotonic() + 180
            while job["state"] == "queued" or (job["state"] == "running" and job["done"] == 0):
                if time.monotonic() > deadline:  # the worker never got going
                    raise SystemExit(f"job did not start:\n{worker.tail()}")
                await asyncio.sleep(0.5)  # until the worker has loaded and coded a chunk
                job = (await client.get(f"/v1/jobs/{job['id']}", headers=h)).json()
            before = job["done"]
            busy = await open_loop(client, key, texts, rate, args.job_s, seed=13)
            job = (await client.get(f"/v1/jobs/{job['id']}", headers=h)).json()
    finally:
        worker.stop()
        server.stop()
    return {
        "rate": round(rate, 2),
        "without_job": idle,
        "during_job": busy,
        "job": {
            "items": args.job_items,
            "done_before": before,
            "done_after": job["done"],
            "state_after": job["state"],
        },
        "worker": {"torch_threads": args.worker_threads, "nice": args.worker_nice},
    }


def markdown(fig: dict) -> str:
    lines = [
        f"# /v1/code under load ({fig['date']})",
        "",
        f"Command: `{fig['command']}`  ",
        f"Machine: {fig['machine']}",
        "",
        "| batching | capacity req/s (clients) | open-loop rate | sent | errors "
        "| p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in fig["modes"]:
        c, o = m["capacity"], m["open_loop"]
        lines.append(
            f"| {'on' if m['batching'] else 'off'} | {c['rps']} ({c['clients']}) | {o['rate']} | "
            f"{o['sent']} | {o['errors']} | {o.get('p50')} | {o.get('p95')} | {o.get('p99')} |"
        )
    j = fig.get("job")
    if j:
        lines += [
            "",
            f"While a bulk job of {j['job']['items']} tickets runs in a separate worker "
            f"(torch {j['worker']['torch_threads']} thread, nice {j['worker']['nice']}), "
            f"Poisson requests at {j['rate']}/s (job done {j['job']['done_before']} -> "
            f"{j['job']['done_after']} during the window, {j['job']['state_after']}):",
            "",
            "| | sent | errors | p50 ms | p95 ms | p99 ms |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name in ("without_job", "during_job"):
            o = j[name]
            lines.append(
                f"| {name.replace('_', ' ')} | {o['sent']} | {o['errors']} | {o.get('p50')} | "
                f"{o.get('p95')} | {o.get('p99')} |"
            )
    return "\n".join(lines) + "\n"


async def run(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        db_url = f"sqlite:///{tmp / 'load.db'}"
        key = make_store(db_url)
        modes = [await mode(args, db_url, key, batching, tmp) for batching in (True, False)]
        rate = args.job_load * modes[0]["capacity"]["rps"]
        job = None if args.no_job else await with_job(args, db_url, key, tmp, rate)
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": "HF_HUB_OFFLINE=1 python " + shlex.join(sys.argv),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average at start {os.getloadavg()[0]:.2f}",
        "args": vars(args),
        "modes": modes,
        "job": job,
        "first_errors": FIRST_ERRORS,
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--clients", type=int, default=8, help="closed-loop clients for capacity")
    p.add_argument("--warmup-s", type=float, default=5.0)
    p.add_argument("--capacity-s", type=float, default=10.0)
    p.add_argument("--load", type=float, default=0.7, help="open-loop rate, share of capacity")
    p.add_argument("--seconds", type=float, default=30.0, help="open-loop duration")
    p.add_argument("--timeout", type=float, default=30.0, help="per request, seconds")
    p.add_argument("--job-items", type=int, default=1000)
    p.add_argument(
        "--job-load",
        type=float,
        default=0.5,
        help="requests/s during the job, as a share of the capacity with batching on",
    )
    p.add_argument("--job-s", type=float, default=30.0, help="timed window during the job")
    p.add_argument("--worker-threads", type=int, default=1)
    p.add_argument("--worker-nice", type=int, default=10)
    p.add_argument("--no-job", action="store_true", help="skip the bulk-job measurement")
    p.add_argument("--out", type=Path, default=RESULTS / "api_load.json")
    args = p.parse_args(argv)
    fig = asyncio.run(run(args))
    text = markdown(fig)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(fig, indent=2, default=str) + "\n")
    args.out.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
