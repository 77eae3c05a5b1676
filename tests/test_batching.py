"""Micro-batching of ``POST /v1/code``: concurrent texts share one coder call, each caller gets
its own result, one bad text fails only its own request."""

from __future__ import annotations

import asyncio
import threading

import pytest

from themecoder.config import Settings
from themecoder.services.batching import CodeBatchers, MicroBatcher


class Upper:
    """A stand-in coder: upper-cases texts, refuses "bad", records each call's batch."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.threads: set[int] = set()

    def code(self, texts: list[str]) -> list[str]:
        self.batches.append(list(texts))
        self.threads.add(threading.get_ident())
        if "bad" in texts:
            raise ValueError("cannot code 'bad'")
        return [t.upper() for t in texts]


async def _gather(batcher: MicroBatcher, texts: list[str]) -> list[object]:
    return await asyncio.gather(*(batcher.submit(t) for t in texts), return_exceptions=True)


def test_concurrent_requests_share_one_call_and_get_their_own_results() -> None:
    fake = Upper()
    texts = [f"ticket {i}" for i in range(12)]

    async def main() -> list[object]:
        return await _gather(MicroBatcher(fake.code, max_batch=32, max_wait_s=0.05), texts)

    assert asyncio.run(main()) == [t.upper() for t in texts]
    assert fake.batches == [texts]  # one call, in order
    assert threading.get_ident() not in fake.threads  # off the event loop


def test_batches_are_capped_and_the_rest_follow() -> None:
    fake = Upper()
    texts = [f"t{i}" for i in range(10)]

    async def main() -> list[object]:
        return await _gather(MicroBatcher(fake.code, max_batch=4, max_wait_s=0.05), texts)

    assert asyncio.run(main()) == [t.upper() for t in texts]
    assert [len(b) for b in fake.batches] == [4, 4, 2]


def test_one_bad_text_fails_only_its_own_request() -> None:
    fake = Upper()

    async def main() -> tuple[list[object], int]:
        batcher = MicroBatcher(fake.code, max_batch=32, max_wait_s=0.05)
        out = await _gather(batcher, ["a", "bad", "c"])
        return out, batcher.calls

    (a, bad, c), calls = asyncio.run(main())
    assert (a, c) == ("A", "C")
    assert isinstance(bad, ValueError) and "bad" in str(bad)
    assert calls == 4  # the batch, then each text alone


def test_a_lone_request_waits_at_most_max_wait() -> None:
    fake = Upper()

    async def main() -> float:
        batcher = MicroBatcher(fake.code, max_batch=32, max_wait_s=0.02)
        loop = asyncio.get_running_loop()
        start = loop.time()
        assert await batcher.submit("x") == "X"
        return loop.time() - start

    assert asyncio.run(main()) < 0.5
    assert fake.batches == [["x"]]


class Results:
    """A stand-in coder returning one result object per text."""

    def __init__(self) -> None:
        self.calls = 0

    def code(self, texts: list[str]) -> list[dict]:
        self.calls += 1
        return [{"text": t} for t in texts]


@pytest.mark.parametrize("batching", [True, False])
def test_code_batchers_per_coder_and_switchable(batching: bool) -> None:
    one, two = Results(), Results()
    batchers = CodeBatchers(Settings(code_batching=batching, code_batch_wait_ms=50))

    async def main() -> list[object]:
        return await asyncio.gather(
            *(batchers.code(one, f"a{i}") for i in range(3)),
            *(batchers.code(two, f"b{i}") for i in range(2)),
        )

    out = asyncio.run(main())
    assert out == [{"text": t} for t in ("a0", "a1", "a2", "b0", "b1")]
    assert (one.calls, two.calls) == ((1, 1) if batching else (3, 2))


class Slow(Upper):
    """A stand-in coder whose every call takes ``seconds``."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def code(self, texts: list[str]) -> list[str]:
        import time

        time.sleep(self.seconds)
        return super().code(texts)


def test_defaults_run_an_idle_request_at_once_and_batch_arrivals_while_busy() -> None:
    batchers = CodeBatchers(Settings())
    assert (batchers.max_batch, batchers.max_wait_s) == (4, 0.0)
    fake = Slow(0.05)

    async def main() -> list[object]:
        batcher = MicroBatcher(fake.code, batchers.max_batch, batchers.max_wait_s)
        first = asyncio.create_task(batcher.submit("first"))
        await asyncio.sleep(0.01)  # the first runs alone; six arrive while it does
        rest = [asyncio.create_task(batcher.submit(f"t{i}")) for i in range(6)]
        return await asyncio.gather(first, *rest)

    assert asyncio.run(main()) == ["FIRST", *(f"T{i}" for i in range(6))]
    # Capped batches in arrival order: no request waits behind more than one running batch
    # and the ones ahead of it in the queue.
    assert fake.batches == [["first"], ["t0", "t1", "t2", "t3"], ["t4", "t5"]]


def test_with_concurrency_batches_run_side_by_side_each_still_capped() -> None:
    fake = Slow(0.2)

    async def main() -> tuple[list[object], float]:
        batcher = MicroBatcher(fake.code, max_batch=2, max_wait_s=0.0, concurrency=2)
        loop = asyncio.get_running_loop()
        start = loop.time()
        out = await _gather(batcher, [f"t{i}" for i in range(4)])
        return out, loop.time() - start

    out, took = asyncio.run(main())
    assert out == [f"T{i}" for i in range(4)]
    assert sorted(fake.batches) == [["t0", "t1"], ["t2", "t3"]]
    assert len(fake.threads) == 2 and took < 0.38  # side by side: 0.4 s one after the other
