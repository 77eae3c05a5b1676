"""Latency of ``POST /v1/code`` (one 60-word ticket, coded synchronously) on CPU.

Starts the real service (``python -m themecoder serve``: the FastAPI app under uvicorn) in a
subprocess on a free loopback port, on a fresh SQLite file in a temporary folder holding a
project and an ingest key created beforehand. After a warm-up (model loads, first calls) it
times ``--n`` sequential requests over one keep-alive httpx connection, for each path:

  (a) ``POST /v1/code`` with ``store: false``;
  (b) ``POST /v1/code`` with ``store: true`` (a unique ``external_id`` per request);
  (c) the in-process baseline: ``Coder.code([text])`` called directly in this process, with
      the same settings and thread configuration: the floor the HTTP layer adds to;
  (d) ``GET /v1/health``: the bare HTTP round trip (no key, no database, no model).

The paths take turns in blocks of ``--block`` requests (a, b, c, d, a, b, ...) with a pause
between blocks, so drifting background load hits them alike while no process competes with
the idle thread pools of the other one (see below). A client-side time runs from sending the
request to having read the whole response body. Beside wall-clock percentiles it reports the
mean CPU time per request of the process doing the work (the server's, read from ``/proc``;
this process's for (c)), which load from other processes inflates far less. Tickets are ~60
words, built deterministically from whole sentences of ``data/sample/tickets.csv``.

The issue's target: p95 of (a) < 50 ms for a 60-word ticket on CPU; the ratio
p95(a) / p95(c) is printed against the in-process baseline measured in the same run.

Threads: the service pins none, so torch (libgomp) and numpy's OpenBLAS each start one thread
per core. After the kNN matrix products OpenBLAS's idle threads keep spinning for a while, so
with back-to-back requests they take the core that torch's second thread needs for the next
embedding. In the server, torch also runs on whichever worker thread serves the request, and
each such thread gets an OpenMP team of its own; once there are more OpenMP threads than cores,
libgomp cuts its spin-wait between parallel regions to ~100 spins, so two torch threads help
less there than in (c). The run is repeated per ``--threads`` configuration: ``default``
(nothing set: the service as shipped, which gives the verdict) or ``T/B`` (torch T threads,
BLAS B threads; the server gets ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` and
``OPENBLAS_NUM_THREADS``, the baseline ``torch.set_num_threads`` and ``threadpoolctl``).
Default: ``default``, ``<cores>/1``, ``1/1``.
A per-stage breakdown of (c) (segmentation, redaction, embedding, heads, neighbours, VADER)
is measured after each configuration.

Run (machine otherwise quiet; the load average is recorded):
    HF_HUB_OFFLINE=1 .venv/bin/python eval/bench_api_latency.py
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_model  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
TICKETS = ROOT / "data" / "sample" / "tickets.csv"
TARGET_MS = 50.0
TARGET_WORDS = 60
PATHS = ("api", "api_store", "inprocess", "health")
LABELS = {
    "api": "(a) POST /v1/code",
    "api_store": "(b) POST /v1/code store",
    "inprocess": "(c) Coder.code in-process",
    "health": "(d) GET /v1/health",
}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@dataclass(frozen=True)
class Threads:
    """A thread configuration; ``None`` leaves a library at its default."""

    torch: int | None = None
    blas: int | None = None

    @classmethod
    def parse(cls, spec: str) -> Threads:
        if spec == "default":
            return cls()
        torch_threads, _, blas = spec.partition("/")
        config = cls(int(torch_threads), int(blas or torch_threads))
        if min(config.torch or 0, config.blas or 0) < 1:
            raise ValueError(spec)
        return config

    @property
    def spec(self) -> str:
        return "default" if self.torch is None else f"{self.torch}/{self.blas}"

    def env(self) -> dict[str, str]:
        if self.torch is None or self.blas is None:
            return dict(os.environ)
        pinned = (str(self.torch), str(self.torch), str(self.blas))
        return dict(os.environ, **dict(zip(_THREAD_VARS, pinned, strict=True)))


def build_tickets(n: int, words: int = TARGET_WORDS, path: Path = TICKETS) -> list[str]:
    """``n`` distinct tickets of about ``words`` words: consecutive whole sentences of the
    sample tickets, in file order, stopping at the sentence that lands nearest ``words``."""
    with path.open(encoding="utf-8", newline="") as fh:
        texts = [" ".join((row.get("text") or "").split()) for row in csv.DictReader(fh)]
    sentences = [s for t in texts if t for s in _SENTENCE_END.split(t) if s]
    if not sentences:
        raise SystemExit(f"{path} holds no ticket text")
    tickets: list[str] = []
    pos = 0
    while len(tickets) < n:
        parts: list[str] = []
        count = 0
        while count < words:
            sentence = sentences[pos % len(sentences)]
            w = len(sentence.split())
            if parts and count + w - words > words - count:
                break  # stopping here lands nearer the target than adding the sentence
            parts.append(sentence)
            count += w
            pos += 1
        tickets.append(" ".join(parts))
    return tickets


def proc_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` (all its threads) from ``/proc``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def summary(ms: list[float]) -> dict[str, float]:
    import numpy as np

    a = np.asarray(ms)
    return {
        "p50": round(float(np.percentile(a, 50)), 2),
        "p95": round(float(np.percentile(a, 95)), 2),
        "p99": round(float(np.percentile(a, 99)), 2),
        "mean": round(float(a.mean()), 2),
        "max": round(float(a.max()), 2),
    }


def make_store(db_url: str) -> str:
    """Migrate a fresh store, create project ``bench`` and return a plain ingest key."""
    from themecoder.services import projects
    from themecoder.storage import init_db, make_engine, session_factory

    engine = make_engine(db_url)
    init_db(engine)
    with session_factory(engine).begin() as session:
        project = projects.create_project(session, "bench")
        _, key = projects.create_key(session, project.id, "ingest", "latency bench")
    engine.dispose()
    return key


class Server:
    """``python -m themecoder serve`` in a subprocess, threads pinned through the environment."""

    def __init__(self, db_url: str, threads: Threads, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = threads.env()
        env.setdefault("HF_HUB_OFFLINE", "1")
        env.setdefault("TRANSFORMERS_OFFLINE", "1")
        cmd = [sys.executable, "-m", "themecoder", "serve", "--host", "127.0.0.1"]
        cmd += ["--port", str(self.port), "--db", db_url]
        self._fh = log.open("w", encoding="utf-8")
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=self._fh, stderr=subprocess.STDOUT
        )

    def wait_ready(self, client: Any, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                if client.get(f"{self.url}/v1/health").status_code == 200:
                    return
            except Exception:  # noqa: BLE001 - not listening yet
                pass
            time.sleep(0.2)
        raise SystemExit(f"server did not answer within {timeout:.0f} s:\n{self.tail()}")

    def tail(self, n: int = 30) -> str:
        self._fh.flush()
        return "\n".join(self.log.read_text(encoding="utf-8").splitlines()[-n:])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._fh.close()


class Timed:
    """Delegates to ``inner``, adding the time of every call of ``methods`` to ``sink``."""

    def __init__(self, inner: Any, methods: dict[str, str], sink: dict[str, float]) -> None:
        self._inner, self._methods, self._sink = inner, methods, sink

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        stage = self._methods.get(name)
        if stage is None or not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return value(*args, **kwargs)
            finally:
                self._sink[stage] = self._sink.get(stage, 0.0) + time.perf_counter() - start

        return call


# Coder attribute -> {method: stage}; what remains of a call is result assembly.
STAGES = {
    "segmenter": {"segment_many": "spaCy segmentation"},
    "redactor": {"redact": "redaction"},
    "embedder": {"encode": "embedding (encoder)"},
    "classifier": {"predict_proba": "bucket heads"},
    "neighbors": {"nearest": "kNN reasons", "votes": "kNN votes"},
    "lexicon": {"transform": "VADER lexicon"},
    "sentiment": {"predict_proba": "sentiment/expression heads"},
    "expression": {"predict_proba": "sentiment/expression heads"},
}


def stage_profile(coder: Any, tickets: list[str], n: int) -> dict[str, Any]:
    """Mean ms per stage of ``coder.code([ticket])`` over ``n`` calls."""
    sink: dict[str, float] = {}
    saved = {attr: getattr(coder, attr) for attr in STAGES}
    total = 0.0
    units = 0
    try:
        for attr, methods in STAGES.items():
            if saved[attr] is not None:
                setattr(coder, attr, Timed(saved[attr], methods, sink))
        for i in range(n):
            start = time.perf_counter()
            result = coder.code([tickets[i % len(tickets)]])[0]
            total += time.perf_counter() - start
            units += len(result.units)
    finally:
        for attr, inner in saved.items():
            setattr(coder, attr, inner)
    stages = {k: round(1000 * v / n, 2) for k, v in sink.items()}
    stages["result assembly (rest)"] = round(1000 * (total - sum(sink.values())) / n, 2)
    return {
        "calls": n,
        "mean_total_ms": round(1000 * total / n, 2),
        "mean_units_per_ticket": round(units / n, 2),
        "mean_ms": dict(sorted(stages.items(), key=lambda kv: -kv[1])),
    }


def measure(
    coder: Any,
    tickets: list[str],
    threads: Threads,
    defaults: Threads,
    args: argparse.Namespace,
    tmp: Path,
) -> dict[str, Any]:
    """One thread configuration: a fresh server and store, and the in-process baseline."""
    import httpx
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads.torch or defaults.torch or 1)
    blas = threadpool_limits(limits=threads.blas or defaults.blas, user_api="blas")
    name = threads.spec.replace("/", "-")
    db_url = f"sqlite:///{tmp / f'bench-{name}.db'}"
    key = make_store(db_url)
    server = Server(db_url, threads, tmp / f"server-{name}.log")
    headers = {"X-API-Key": key}
    serial = 0

    def api(text: str) -> Callable[[], Any]:
        return lambda: client.post(f"{server.url}/v1/code", headers=headers, json={"text": text})

    def api_store(text: str) -> Callable[[], Any]:
        nonlocal serial
        serial += 1
        body = {"text": text, "external_id": f"{name}-{serial}", "store": True}
        return lambda: client.post(f"{server.url}/v1/code", headers=headers, json=body)

    def health(_: str) -> Callable[[], Any]:
        return lambda: client.get(f"{server.url}/v1/health")

    def inprocess(text: str) -> Callable[[], Any]:
        return lambda: coder.code([text])

    def own_cpu(path: str) -> float:
        if path == "inprocess":
            return time.process_time()
        return proc_cpu_seconds(server.proc.pid) or 0.0

    makers = {"api": api, "api_store": api_store, "inprocess": inprocess, "health": health}
    times: dict[str, list[float]] = {p: [] for p in PATHS}
    cpu = {p: 0.0 for p in PATHS}  # CPU seconds: the server's for HTTP paths, ours for (c)
    sizes: list[int] = []
    mismatches = 0
    try:
        with httpx.Client(timeout=60.0) as client:
            server.wait_ready(client)
            # Warm-up: the first /v1/code loads the encoder, spaCy and VADER in the server.
            for i in range(args.warmup):
                for path in PATHS:
                    out = makers[path](tickets[i % len(tickets)])()
                    if path != "inprocess" and out.status_code != 200:
                        raise SystemExit(f"{path} answered {out.status_code}: {out.text}")
            # Same codes through the API as in-process (bucket and polarity per ticket).
            for text in tickets:
                got = client.post(f"{server.url}/v1/code", headers=headers, json={"text": text})
                want = {c.bucket: c.polarity for c in coder.code([text])[0].buckets}
                have = {b: v["polarity"] for b, v in got.json()["buckets"].items()}
                mismatches += want != have
            for start in range(0, args.n, args.block):
                for path in PATHS:
                    time.sleep(args.settle)  # let the other process's thread pools go idle
                    for i in range(start, min(start + args.block, args.n)):
                        call = makers[path](tickets[i % len(tickets)])
                        cpu_start = own_cpu(path)
                        t0 = time.perf_counter()
                        out = call()
                        times[path].append(1000 * (time.perf_counter() - t0))
                        cpu[path] += own_cpu(path) - cpu_start
                        if path in ("api", "api_store") and out.status_code != 200:
                            raise SystemExit(f"{path} answered {out.status_code}: {out.text}")
                        if path == "api":
                            sizes.append(len(out.content))
                        elif path == "api_store" and out.json()["stored"]["created"] != 1:
                            raise SystemExit(f"store did not create the item: {out.text}")
        stages = stage_profile(coder, tickets, args.profile)
    finally:
        server.stop()
        blas.restore_original_limits()
    stats = {p: summary(v) for p, v in times.items()}
    for p in PATHS:
        stats[p]["cpu_mean"] = round(1000 * cpu[p] / args.n, 2)
    return {
        "threads": threads.spec,
        "torch_threads": threads.torch or defaults.torch,
        "blas_threads": threads.blas or defaults.blas,
        "latency_ms": stats,
        "ratio_p95_api_vs_inprocess": round(stats["api"]["p95"] / stats["inprocess"]["p95"], 3),
        "ratio_p95_store_vs_inprocess": round(
            stats["api_store"]["p95"] / stats["inprocess"]["p95"], 3
        ),
        "http_overhead_p50_ms": round(stats["api"]["p50"] - stats["inprocess"]["p50"], 2),
        "meets_target": stats["api"]["p95"] < TARGET_MS,
        "mean_response_bytes": round(statistics.mean(sizes), 1),
        "api_inprocess_code_mismatches": mismatches,
        "stages": stages,
    }


def default_threads() -> Threads:
    """The thread counts torch and the BLAS libraries pick in this environment."""
    import numpy as np
    import torch
    from threadpoolctl import threadpool_info

    np.ones((2, 2)) @ np.ones((2, 2))  # make sure numpy's BLAS is loaded
    blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    return Threads(torch.get_num_threads(), max(blas, default=1))


def machine(defaults: Threads) -> dict[str, Any]:
    import torch

    return {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_default_threads": defaults.torch,
        "blas_default_threads": defaults.blas,
        "thread_env": {k: os.environ.get(k) for k in _THREAD_VARS},
    }


def uptime() -> str | None:
    """``uptime``'s line (load averages over 1, 5 and 15 minutes), if the command exists."""
    try:
        done = subprocess.run(["uptime"], capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return " ".join(done.stdout.split())


def run(args: argparse.Namespace) -> dict[str, Any]:
    from themecoder.coder import Coder
    from themecoder.config import Settings

    defaults = default_threads()
    info = machine(defaults)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    configs = args.threads or [Threads(), Threads(cores or 1, 1), Threads(1, 1)]
    configs = list(dict.fromkeys(configs))
    tickets = build_tickets(args.tickets)
    words = [len(t.split()) for t in tickets]
    load_before = [round(x, 2) for x in os.getloadavg()]
    uptime_before = uptime()
    print(
        f"{len(tickets)} tickets, mean {statistics.mean(words):.1f} words "
        f"(min {min(words)}, max {max(words)}), mean {statistics.mean(map(len, tickets)):.0f} "
        f"chars; load average before: {' '.join(map(str, load_before))}",
        flush=True,
    )
    coder = Coder.load(Settings())
    results = []
    with tempfile.TemporaryDirectory(prefix="themecoder-apibench-") as tmp:
        for threads in configs:
            print(f"threads {threads.spec}: {args.n} requests per path ...", flush=True)
            results.append(measure(coder, tickets, threads, defaults, args, Path(tmp)))
            print(config_table(results[-1]), flush=True)
    return {
        "command": " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv]),
        "n": args.n,
        "warmup": args.warmup,
        "block": args.block,
        "tickets": len(tickets),
        "mean_ticket_words": round(statistics.mean(words), 1),
        "mean_ticket_chars": round(statistics.mean(map(len, tickets)), 1),
        "target_p95_ms": TARGET_MS,
        "model_version": coder.version,
        "device": coder.embedder.device,
        "machine": info,
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "uptime_before": uptime_before,
        "uptime_after": uptime(),
        "configs": results,
    }


def title(cfg: dict[str, Any]) -> str:
    shipped = " (the service as shipped)" if cfg["threads"] == "default" else ""
    return (
        f"threads {cfg['threads']}: torch {cfg['torch_threads']}, BLAS {cfg['blas_threads']}"
        f"{shipped}"
    )


def config_table(cfg: dict[str, Any]) -> str:
    lat = cfg["latency_ms"]
    base = lat["inprocess"]["p95"]
    lines = [
        title(cfg),
        f"  {'path (ms)':<28}{'p50':>8}{'p95':>8}{'p99':>8}{'mean':>8}{'p95/(c)':>9}{'CPU':>8}",
    ]
    for p in PATHS:
        s = lat[p]
        lines.append(
            f"  {LABELS[p]:<28}{s['p50']:>8.1f}{s['p95']:>8.1f}{s['p99']:>8.1f}"
            f"{s['mean']:>8.1f}{s['p95'] / base:>9.2f}{s['cpu_mean']:>8.1f}"
        )
    verdict = "meets" if cfg["meets_target"] else "MISSES"
    lines.append(
        f"  p95 (a)/(c) = {cfg['ratio_p95_api_vs_inprocess']:.2f}; (a) {verdict} the p95 "
        f"target of {TARGET_MS:.0f} ms ({lat['api']['p95']:.1f} ms)"
    )
    st = cfg["stages"]
    parts = ", ".join(f"{k} {v:.1f}" for k, v in st["mean_ms"].items())
    lines.append(
        f"  (c) stages, mean ms of {st['mean_total_ms']:.1f} "
        f"({st['mean_units_per_ticket']} units/ticket): {parts}"
    )
    if cfg["api_inprocess_code_mismatches"]:
        lines.append(
            f"  note: {cfg['api_inprocess_code_mismatches']} tickets got other codes via the API"
        )
    return "\n".join(lines)


def markdown(fig: dict[str, Any]) -> str:
    m = fig["machine"]
    lines = [
        "# POST /v1/code latency (one ticket, synchronous, CPU)",
        "",
        f"{fig['n']} sequential requests per path after {fig['warmup']} warm-up rounds, in "
        f"blocks of {fig['block']} taking turns; {fig['tickets']} tickets of mean "
        f"{fig['mean_ticket_words']} words ({fig['mean_ticket_chars']} chars); model "
        f"{fig['model_version']} on {fig['device']}. Client-side times over one keep-alive "
        "loopback connection. CPU ms: mean CPU time per request of the server process (all "
        "threads; (c): this process), which load on the machine inflates less than wall "
        f"time. Target: p95 of (a) < {fig['target_p95_ms']:.0f} ms.",
        "",
        f"Machine: {m['cpu']}, {m['cpu_count']} CPUs ({m['cpus_usable']} usable); "
        f"Python {m['python']}, torch {m['torch']}; default threads: torch "
        f"{m['torch_default_threads']}, BLAS {m['blas_default_threads']}; {m['platform']}. "
        f"Load average before {fig['load_average_before']}, after "
        f"{fig['load_average_after']}.",
        "",
        "Summary, p95 of (a):",
        "",
    ]
    for cfg in fig["configs"]:
        verdict = "meets" if cfg["meets_target"] else "misses"
        lines.append(
            f"- {title(cfg)}: {cfg['latency_ms']['api']['p95']:.1f} ms, {verdict} the target; "
            f"{cfg['ratio_p95_api_vs_inprocess']:.2f} x the in-process p95"
        )
    lines.append("")
    for cfg in fig["configs"]:
        lat = cfg["latency_ms"]
        base = lat["inprocess"]["p95"]
        verdict = "**meets**" if cfg["meets_target"] else "**misses**"
        lines += [
            f"## {title(cfg)}",
            "",
            "| path | p50 ms | p95 ms | p99 ms | mean ms | p95 / (c) | CPU ms |",
            "|---|---|---|---|---|---|---|",
        ]
        for p in PATHS:
            s = lat[p]
            lines.append(
                f"| {LABELS[p]} | {s['p50']:.1f} | {s['p95']:.1f} | {s['p99']:.1f} | "
                f"{s['mean']:.1f} | {s['p95'] / base:.2f} | {s['cpu_mean']:.1f} |"
            )
        st = cfg["stages"]
        lines += [
            "",
            f"p95 (a) / (c) = {cfg['ratio_p95_api_vs_inprocess']:.2f}; (a) {verdict} the "
            f"target ({lat['api']['p95']:.1f} ms). HTTP layer at p50: "
            f"{cfg['http_overhead_p50_ms']:.1f} ms; mean response "
            f"{cfg['mean_response_bytes']:.0f} bytes."
            + (
                " (Negative: here the baseline suffers more from idle thread pools than the "
                "server does.)"
                if cfg["http_overhead_p50_ms"] < 0
                else ""
            ),
            "",
            f"Where (c)'s {st['mean_total_ms']:.1f} ms go (mean of {st['calls']} calls, "
            f"{st['mean_units_per_ticket']} units per ticket):",
            "",
            "| stage | mean ms | share |",
            "|---|---|---|",
        ]
        lines += [
            f"| {k} | {v:.2f} | {v / st['mean_total_ms']:.0%} |" for k, v in st["mean_ms"].items()
        ]
        lines.append("")
    lines.append(f"Command: `{fig['command']}`")
    return "\n".join(lines) + "\n"


def threads_arg(value: str) -> list[Threads]:
    try:
        return [Threads.parse(spec.strip()) for spec in value.split(",")]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected default or T/B, got {value!r}") from exc


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300, help="timed requests per path (300)")
    parser.add_argument("--warmup", type=int, default=20, help="warm-up rounds (20)")
    parser.add_argument("--tickets", type=int, default=20, help="distinct tickets (20)")
    parser.add_argument("--block", type=int, default=50, help="requests per block (50)")
    parser.add_argument(
        "--settle", type=float, default=0.5, help="pause before each block, seconds (0.5)"
    )
    parser.add_argument(
        "--threads",
        type=threads_arg,
        default=None,
        help="comma-separated configurations, default or T/B (torch T, BLAS B threads); "
        "default: default,<cores>/1,1/1",
    )
    parser.add_argument(
        "--profile", type=int, default=100, help="in-process calls for the stage breakdown"
    )
    results = ROOT / "eval" / "results"
    parser.add_argument("--json", type=Path, default=results / "api_latency.json")
    parser.add_argument("--md", type=Path, default=results / "api_latency.md")
    args = parser.parse_args(argv)
    if min(args.n, args.warmup, args.tickets, args.profile, args.block) < 1:
        parser.error("--n, --warmup, --tickets, --block and --profile must be at least 1")
    fig = run(args)
    for path, text in ((args.json, json.dumps(fig, indent=2) + "\n"), (args.md, markdown(fig))):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    print(f"wrote {args.json} and {args.md}")


if __name__ == "__main__":
    main()
