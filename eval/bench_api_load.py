"""Load on ``POST /v1/code``: capacity, open-loop latency at 70% of it, and latency while a bulk
job runs in a separate worker process, each figure beside its baseline from the same run.

Starts the real service (``python -m themecoder serve``) in subprocesses on free loopback
ports, on a fresh SQLite file in a temporary folder holding a project and an ingest key.
Tickets are ~60 words (``bench_api_latency.build_tickets``), each request a different one.

Part 1, per configuration (``--modes``; each its own server, all started at once and measured
in turns, so drifting background load hits them alike):

  * ``shipped``: the service's defaults;
  * ``off``: micro-batching off (``THEMECODER_CODE_BATCHING=0``), the baseline it must beat;
  * ``previous``: the defaults before this bench's last change (micro-batches of up to 32
    with a 5 ms wait, encoder batches of 64, one torch thread per core for the coder);
  * ``replicas``: the defaults with a copy of the coder per core
    (``THEMECODER_CODER_REPLICAS``), micro-batches running side by side;
  * ``threads``: the defaults with a torch thread per core for the coder;
  * ``int8``: the defaults with the int8 encoder (``THEMECODER_ENCODER_INT8``: ONNX Runtime on
    the export quantised to int8; close to the float codes, not equal: eval/encoder_cost.py).

  1. capacity: a closed loop of ``--clients`` concurrent clients for ``--capacity-s`` seconds
     per turn (after a warm-up); completed requests per second, the median over ``--rounds``;
  2. open loop: Poisson arrivals at ``--load`` (70%) of that configuration's capacity, in
     ``--rounds`` turns adding up to ``--seconds``; a request's latency runs from its
     scheduled send time (so a stalled server cannot hide queueing by slowing the client) to
     its whole response; errors are non-200 answers and failed or timed-out requests.
     Target: p99 < 300 ms, 0 errors.

Part 2: the shipped service with ``THEMECODER_WORKER_EMBEDDED=0`` and a ``themecoder worker``
process beside it, started in a session of its own (as ``setsid themecoder worker``), which
lowers its own priority (``THEMECODER_WORKER_NICE``, autogroup included) and torch threads
(``THEMECODER_WORKER_THREADS``); ``--worker-nice`` / ``--worker-threads`` override them. Poisson
requests at ``--job-rate`` per second (default: ``--job-load``, 50%, of the shipped capacity)
are timed for ``--job-s`` seconds without a job (the baseline), then a bulk job of
``--job-items`` tickets (stored 32 per chunk) is queued, and once the worker has stored its
first chunk the same rate is timed for ``--job-s`` seconds. Target: p95 < 100 ms. Then (unless
``--no-unprotected``) the same on a fresh store with a worker left at the API's priority and
session with a torch thread per core: the baseline for the worker's protection. With
``--job-int8``, the protected run is repeated with the int8 encoder in the service and worker.

The load average is recorded at the start and end of each part: the figures are only as good
as the machine is quiet. Everything stays on loopback and is bounded in time. Run:
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

    def __init__(
        self, args: list[str], env: dict[str, str], log: Path, session: bool = False
    ) -> None:
        self._fh = log.open("w")
        self.log = log
        cmd = [sys.executable, "-m", "themecoder", *args]
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=self._fh,
            stderr=subprocess.STDOUT,
            start_new_session=session,  # as `setsid themecoder worker`
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
    return {"rate": round(rate, 2), "sent": len(tasks), "errors": errors, "ms": latencies}


def pooled(windows: list[dict]) -> dict:
    """One open-loop figure from several windows at the same rate."""
    ms = [x for w in windows for x in w["ms"]]
    out: dict[str, Any] = {
        "rate": windows[0]["rate"],
        "sent": sum(w["sent"] for w in windows),
        "errors": sum(w["errors"] for w in windows),
    }
    out.update(summary(ms) if ms else {})
    return out


def load_now() -> float:
    return round(os.getloadavg()[0], 2)


MODES = {
    "shipped": {},
    "off": {"code_batching": "0"},
    "previous": {
        "code_batch_max": "32",
        "code_batch_wait_ms": "5",
        "batch_size": "64",
        "coder_threads": str(os.cpu_count() or 1),
    },
    "replicas": {"coder_replicas": str(os.cpu_count() or 1)},
    "threads": {"coder_threads": str(os.cpu_count() or 1)},
    "int8": {"encoder_int8": "true"},
}


async def modes(args: argparse.Namespace, db_url: str, key: str, tmp: Path) -> dict:
    """Capacity and open-loop latency of each configuration, measured in turns."""
    import httpx

    names = args.modes.split(",")
    servers, clients = {}, {}
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
    texts = Texts(build_tickets(500))
    try:
        for name in names:
            port = free_port()
            env = server_env(db_url, worker_embedded="0", **MODES[name])
            servers[name] = Proc(["serve", "--port", str(port)], env, tmp / f"serve-{name}.log")
            clients[name] = httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", timeout=args.timeout, limits=limits
            )
        for name in names:
            await wait_ready(clients[name], servers[name])
            await prime(clients[name], key, texts.next())
            await closed_loop(clients[name], key, texts, args.clients, args.warmup_s)
        caps: dict[str, list[dict]] = {n: [] for n in names}
        for _ in range(args.rounds):
            for name in names:
                caps[name].append(
                    await closed_loop(clients[name], key, texts, args.clients, args.capacity_s)
                )
        windows: dict[str, list[dict]] = {n: [] for n in names}
        rps = {n: sorted(c["rps"] for c in caps[n])[len(caps[n]) // 2] for n in names}
        for r in range(args.rounds):
            for name in names:
                if not rps[name]:
                    raise SystemExit(f"{name}: no request succeeded: {FIRST_ERRORS}")
                windows[name].append(
                    await open_loop(
                        clients[name],
                        key,
                        texts,
                        args.load * rps[name],
                        args.seconds / args.rounds,
                        seed=7 + r,
                    )
                )
    finally:
        for name in servers:
            await clients[name].aclose()
            servers[name].stop()
    return {
        name: {
            "settings": MODES[name],
            "capacity": {
                "rps": rps[name],
                "rounds": [c["rps"] for c in caps[name]],
                "clients": args.clients,
                "errors": sum(c["errors"] for c in caps[name]),
            },
            "open_loop": pooled(windows[name]),
        }
        for name in names
    }


async def with_job(
    args: argparse.Namespace,
    tmp: Path,
    rate: float,
    protected: bool,
    settings: dict[str, str] | None = None,
) -> dict:
    """The same rate without and during a bulk job, on a fresh store; ``protected``: the
    worker as shipped (own session, its priority and threads lowered), else a worker left at
    the API's priority with a torch thread per core (the baseline for that protection).
    ``settings`` (for the service and the worker alike) change the defaults."""
    import httpx

    name = ("protected" if protected else "unprotected") + "".join(
        f"-{k}-{v}" for k, v in (settings or {}).items()
    )
    db_url = f"sqlite:///{tmp / f'job-{name}.db'}"
    key = make_store(db_url)
    port = free_port()
    # Small chunks, so the job shows progress soon after the worker has loaded its model.
    env = server_env(db_url, worker_embedded="0", job_chunk_items="32", **(settings or {}))
    server = Proc(["serve", "--port", str(port)], env, tmp / f"serve-job-{name}.log")
    wenv = dict(env)
    if not protected:
        wenv.update(THEMECODER_WORKER_NICE="0", THEMECODER_WORKER_THREADS=str(os.cpu_count()))
    if protected and args.worker_nice is not None:
        wenv["THEMECODER_WORKER_NICE"] = str(args.worker_nice)
    if protected and args.worker_threads is not None:
        wenv["THEMECODER_WORKER_THREADS"] = str(args.worker_threads)
    worker = Proc(["worker"], wenv, tmp / f"worker-{name}.log", session=protected)
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
            load_before = load_now()
            idle = await open_loop(client, key, texts, rate, args.job_s, seed=11)
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
    said = [line for line in worker.log.read_text().splitlines() if "priority" in line]
    return {
        "rate": round(rate, 2),
        "without_job": pooled([idle]),
        "during_job": pooled([busy]),
        "job": {
            "items": args.job_items,
            "done_before": before,
            "done_after": job["done"],
            "state_after": job["state"],
        },
        "worker": {
            "threads": wenv.get("THEMECODER_WORKER_THREADS", "default"),
            "nice": wenv.get("THEMECODER_WORKER_NICE", "default"),
            "said": said,
        },
        "settings": settings or {},
        "load_average": [load_before, load_now()],
    }


def verdict(value: float | None, target: float) -> str:
    return "no figure" if value is None else ("met" if value < target else "missed")


def markdown(fig: dict) -> str:
    lines = [
        f"# /v1/code under load ({fig['date']})",
        "",
        f"Command: `{fig['command']}`  ",
        f"Machine: {fig['machine']}; load average {fig['load_average'][0]} at start, "
        f"{fig['load_average'][1]} at the end (`uptime` at start: {fig['uptime']})",
    ]
    if fig["modes"]:
        lines += table(fig)
    for label, j in fig.get("jobs", {}).items():
        lines += job_table(label, j)
    return "\n".join(lines) + "\n"


def table(fig: dict) -> list[str]:
    lines = [
        "",
        "Configurations measured in turns in the same run (`shipped`: the defaults; `off`: "
        "micro-batching off; `previous`: batches of up to 32 with a 5 ms wait, encoder batches "
        "of 64, a torch thread per core; `replicas`: a copy of the coder per core; `threads`: "
        "a torch thread per core; `int8`: the int8 encoder). "
        "Open loop at "
        f"{fig['args']['load']:.0%} of each one's own capacity; target p99 < 300 ms, 0 errors.",
        "",
        "| configuration | capacity req/s (per round) | open-loop rate | sent | errors "
        "| p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, m in fig["modes"].items():
        c, o = m["capacity"], m["open_loop"]
        rounds = ", ".join(str(x) for x in c["rounds"])
        lines.append(
            f"| {name} | {c['rps']} ({rounds}) | {o['rate']} | {o['sent']} | {o['errors']} "
            f"| {o.get('p50')} | {o.get('p95')} | {o.get('p99')} |"
        )
    if "shipped" in fig["modes"]:
        o = fig["modes"]["shipped"]["open_loop"]
        beside = "; ".join(
            f"{n} {m['open_loop'].get('p99')} ms" for n, m in fig["modes"].items() if n != "shipped"
        )
        lines += [
            "",
            f"Shipped p99 {o.get('p99')} ms with {o['errors']} errors ({beside}): target "
            f"{verdict(o.get('p99') if not o['errors'] else None, 300)}.",
        ]
    return lines


def job_table(label: str, j: dict) -> list[str]:
    w, d = j["without_job"], j["during_job"]
    said = "; ".join(j["worker"]["said"]) or "left as started"
    lines = [
        "",
        f"Bulk job, {label} worker: Poisson requests at {j['rate']}/s to the shipped "
        f"service, first without a job (the baseline), then while a `themecoder worker` "
        f"process (threads {j['worker']['threads']}, nice {j['worker']['nice']}: {said}) "
        f"runs a bulk job of {j['job']['items']} tickets (done {j['job']['done_before']} -> "
        f"{j['job']['done_after']} during the window, {j['job']['state_after']} after it); "
        f"load average {j['load_average'][0]} -> {j['load_average'][1]}:",
        "",
        "| | sent | errors | p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, o in (("without job", w), ("during job", d)):
        lines.append(
            f"| {name} | {o['sent']} | {o['errors']} | {o.get('p50')} | "
            f"{o.get('p95')} | {o.get('p99')} |"
        )
    lines += [
        "",
        f"p95 during the job {d.get('p95')} ms against {w.get('p95')} ms without"
        + (
            f": target (< 100 ms) {verdict(d.get('p95'), 100)}."
            if label.startswith("protected")
            else "."
        ),
    ]
    return lines


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"


async def run(args: argparse.Namespace) -> dict:
    start_load, up = load_now(), uptime()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        db_url = f"sqlite:///{tmp / 'load.db'}"
        key = make_store(db_url)
        measured = await modes(args, db_url, key, tmp) if args.modes else {}
        rate = args.job_rate
        if rate is None:
            if "shipped" not in measured:
                raise SystemExit("--job-rate is needed when the shipped mode is not measured")
            rate = args.job_load * measured["shipped"]["capacity"]["rps"]
        jobs = {}
        if not args.no_job:
            jobs["protected"] = await with_job(args, tmp, rate, protected=True)
            if args.job_int8:
                jobs["protected, int8 encoder"] = await with_job(
                    args, tmp, rate, protected=True, settings={"encoder_int8": "true"}
                )
            if args.unprotected:
                jobs["unprotected"] = await with_job(args, tmp, rate, protected=False)
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": "HF_HUB_OFFLINE=1 python " + shlex.join(sys.argv),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "uptime": up,
        "load_average": [start_load, load_now()],
        "args": vars(args),
        "modes": measured,
        "jobs": jobs,
        "first_errors": FIRST_ERRORS,
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--clients", type=int, default=8, help="closed-loop clients for capacity")
    p.add_argument("--warmup-s", type=float, default=5.0)
    p.add_argument("--capacity-s", type=float, default=10.0)
    p.add_argument("--load", type=float, default=0.7, help="open-loop rate, share of capacity")
    p.add_argument("--seconds", type=float, default=30.0, help="open-loop duration, all rounds")
    p.add_argument("--rounds", type=int, default=3, help="turns per configuration")
    p.add_argument(
        "--modes",
        default="shipped,off,previous,replicas,threads",
        help="configurations (empty: job only)",
    )
    p.add_argument("--timeout", type=float, default=30.0, help="per request, seconds")
    p.add_argument("--job-items", type=int, default=1000)
    p.add_argument(
        "--job-load",
        type=float,
        default=0.5,
        help="requests/s with and without the job, as a share of the shipped capacity",
    )
    p.add_argument("--job-rate", type=float, default=None, help="requests/s (overrides)")
    p.add_argument("--job-s", type=float, default=30.0, help="each timed window, seconds")
    p.add_argument("--worker-threads", type=int, default=None, help="default: the setting's")
    p.add_argument("--worker-nice", type=int, default=None, help="default: the setting's")
    p.add_argument("--no-job", action="store_true", help="skip the bulk-job measurement")
    p.add_argument(
        "--job-int8",
        action="store_true",
        help="also the protected job with THEMECODER_ENCODER_INT8 (service and worker)",
    )
    p.add_argument(
        "--unprotected",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also a job run by a worker at the API's priority with a thread per core",
    )
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
