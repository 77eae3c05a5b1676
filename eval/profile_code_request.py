"""Where one ``POST /v1/code`` request's time goes, in process.

Builds the app on a fresh SQLite store (``create_app``, FastAPI's ``TestClient``, no socket),
warms it up, then sends ``--n`` sequential requests of ~60-word tickets
(``bench_api_latency.build_tickets``) and reports the mean wall and CPU ms per request of the
whole request (all of the process's threads) and of its stages, timed by wrapping them: the
route's database reads and PII masking (spaCy NER and the rules), the coder call on the coder
thread and, within it, the encoder, the bucket heads with their kNN reasons, and the
sentiment/expression heads with their kNN votes. What is left of the whole is HTTP, auth, JSON
and the batcher. ``/v1/code`` runs no language detection.

Run (``--coder-threads`` sets ``THEMECODER_CODER_THREADS`` for an A/B in the same session):
    HF_HUB_OFFLINE=1 .venv/bin/python eval/profile_code_request.py [--coder-threads 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api_latency import build_tickets, make_store  # noqa: E402

SINK: dict[str, list[float]] = {}


def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            got = SINK.setdefault(name, [0.0, 0.0])
            got[0] += time.perf_counter() - wall
            got[1] += time.thread_time() - cpu

    return wrapper


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=60)
    p.add_argument("--coder-threads", type=int, default=None, help="default: the setting's")
    args = p.parse_args(argv)
    import os

    from fastapi.testclient import TestClient

    from themecoder.coder import Coder
    from themecoder.config import Settings
    from themecoder.services import intake
    from themecoder_api.app import create_app
    from themecoder_api.routes import intake as route

    folder = Path(tempfile.mkdtemp())
    db_url = f"sqlite:///{folder / 'profile.db'}"
    key = make_store(db_url)
    extra = {} if args.coder_threads is None else {"coder_threads": args.coder_threads}
    s = Settings(db_url=db_url, worker_embedded=False, **extra)
    intake.mask_text = timed("  route: of which PII masking (spaCy NER, rules)", intake.mask_text)
    route._coder_and_text = timed("route: DB reads + masking", route._coder_and_text)
    Coder.code = timed("Coder.code (on the coder thread)", Coder.code)  # type: ignore[method-assign]
    Coder._encode = timed("  coder: of which the encoder", Coder._encode)  # type: ignore[method-assign]
    Coder._buckets = timed("  coder: of which bucket heads + kNN reasons", Coder._buckets)  # type: ignore[method-assign]
    Coder._affect = timed("  coder: of which sentiment/expression + kNN", Coder._affect)  # type: ignore[method-assign]
    tickets = build_tickets(args.n + 10)
    headers = {"X-API-Key": key}
    with TestClient(create_app(s)) as client:
        for text in tickets[:10]:  # models load, caches warm
            assert client.post("/v1/code", headers=headers, json={"text": text}).status_code == 200
        SINK.clear()
        wall, cpu = time.perf_counter(), time.process_time()
        for text in tickets[10:]:
            client.post("/v1/code", headers=headers, json={"text": text})
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    n = args.n
    print(f"coder_threads {s.coder_threads}, load average {os.getloadavg()[0]:.2f}")
    rows = {"whole request (all threads)": (wall, cpu)}
    for name in sorted(SINK, key=lambda k: k.strip().lower()):  # each part after its whole
        rows[name] = (SINK[name][0], SINK[name][1])
    for name, (w, c) in rows.items():
        print(f"{name:48s} wall {1000 * w / n:6.1f} ms  CPU {1000 * c / n:6.1f} ms")


if __name__ == "__main__":
    main()
