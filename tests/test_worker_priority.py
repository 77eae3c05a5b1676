"""Bulk work yields to interactive work: a worker lowers its priority and torch threads, and
the API's embedded worker codes on coders of its own."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from themecoder.services.coders import pin_thread

linux = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="Linux only")


@linux
def test_pin_thread_lowers_only_the_calling_thread_and_is_idempotent() -> None:
    seen: dict[str, int] = {}

    def run() -> None:
        pin_thread(nice=5)
        pin_thread(nice=5)  # a thread started by a lowered one stays where it is
        seen["thread"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    main = os.getpriority(os.PRIO_PROCESS, 0)
    t = threading.Thread(target=run)
    t.start()
    t.join()
    assert seen["thread"] == min(19, main + 5)
    assert os.getpriority(os.PRIO_PROCESS, 0) == main


def test_pin_thread_sets_torch_threads_of_its_thread() -> None:
    torch = pytest.importorskip("torch")
    seen: list[int] = []

    def run() -> None:
        pin_thread(threads=1)
        seen.append(torch.get_num_threads())

    before = torch.get_num_threads()
    t = threading.Thread(target=run)
    t.start()
    t.join()
    torch.set_num_threads(before)
    assert seen == [1]


CHILD = textwrap.dedent(
    """
    import json, os, sys, threading
    from pathlib import Path
    from themecoder.services.worker import lower_priority
    if sys.argv[1] == "setsid":
        os.setsid()
    t = threading.Thread(target=threading.Event().wait, args=(5,), daemon=True)
    t.start()  # a thread that exists before: it must be lowered too
    done = lower_priority(7, Path(sys.argv[2]))
    print(json.dumps({"done": done, "main": os.getpriority(os.PRIO_PROCESS, 0),
                      "thread": os.getpriority(os.PRIO_PROCESS, t.native_id)}))
    """
)


@linux
@pytest.mark.parametrize("session", ["setsid", "shared"])
def test_worker_process_lowers_every_thread_and_its_own_autogroup(
    tmp_path: Path, session: str
) -> None:
    import json

    knob = tmp_path / "autogroup"  # stands in for /proc/self/autogroup
    knob.write_text("/autogroup-1 nice 0\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run(
        [sys.executable, "-c", CHILD, session, str(knob)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=60,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    base = os.getpriority(os.PRIO_PROCESS, 0)
    assert got["main"] == got["thread"] == min(19, base + 7)
    if session == "setsid":  # leads its own session: its group's niceness is set
        assert knob.read_text() == "7\n"
    else:  # shares its parent's session: the group (the parent too) is left alone
        assert knob.read_text() == "/autogroup-1 nice 0\n"
        assert any("not a session leader" in d for d in got["done"])


def test_nothing_changes_at_nice_zero() -> None:
    from themecoder.services.worker import lower_priority

    assert lower_priority(0) == []


def test_embedded_worker_codes_on_coders_of_its_own(settings) -> None:
    from fastapi.testclient import TestClient

    from themecoder_api.app import create_app

    s = settings.model_copy(update={"worker_embedded": True, "worker_nice": 3})
    with TestClient(create_app(s)) as client:
        ctx = client.app.state.context
        jobs = ctx.worker.env.coders
        assert jobs is not ctx.coders  # a bulk chunk never queues on /v1/code's coder thread
        assert (jobs.threads, jobs.nice) == (s.worker_threads, 3)
        assert (ctx.coders.threads, ctx.coders.nice) == (s.coder_threads, 0)


def test_a_coder_with_copies_runs_calls_in_parallel_on_free_copies() -> None:
    import time
    from concurrent.futures import ThreadPoolExecutor

    from themecoder.services.coders import LockedCoder

    class Sleepy:
        version = "v"

        def __init__(self) -> None:
            self.calls = 0

        def code(self, items, progress=None):
            self.calls += 1
            time.sleep(0.2)
            return list(items)

    one, two = Sleepy(), Sleepy()
    locked = LockedCoder(one, replicas=[two])  # type: ignore[arg-type, list-item]
    assert locked.replicas == 2
    start = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        out = list(pool.map(lambda t: locked.code([t]), ["a", "b", "c", "d"]))
    assert out == [["a"], ["b"], ["c"], ["d"]]
    assert (one.calls, two.calls) == (2, 2)  # never two calls on one copy at once
    assert time.monotonic() - start < 0.7  # 0.8 s one after the other


def test_registry_copies_have_models_of_their_own() -> None:
    from themecoder.config import Settings
    from themecoder.services.coders import CoderRegistry

    registry = CoderRegistry(Settings(), replicas=2)
    locked = registry.get(None)  # loads the artifact; the models themselves load lazily
    assert locked.replicas == 2
    (copy_embedder,) = registry._copy_embedders
    assert copy_embedder is not locked.coder.embedder  # a tokenizer is not shared by threads
