"""Micro-batching: concurrent single-text requests share one coder (and encoder) call.

Requests arriving within ``max_wait_s`` of the first waiting one, up to ``max_batch`` of them,
are coded together; while a batch runs, the next one gathers, so under load batches grow and
the per-text cost of the encoder falls, and when idle a request waits at most ``max_wait_s``.
A request that arrives while a batch runs waits for it and then for its own batch, so
``max_batch`` bounds the tail: the service defaults keep it small and ``max_wait_s`` at 0 (a
request finding the coder idle runs at once).
Results are fanned back out in order. If a batch call fails, its texts are retried one by one,
so a text that cannot be coded fails only its own request.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from themecoder.config import Settings
from themecoder.domain import ItemResult

T = TypeVar("T")
R = TypeVar("R")


class MicroBatcher(Generic[T, R]):
    """Runs ``fn`` over batches of the items passed to :meth:`submit` by concurrent callers.

    ``fn`` is blocking; it runs in a thread, ``concurrency`` batches at a time (one per copy of
    the coder), so the event loop keeps accepting requests meanwhile. Create and use the
    batcher on one event loop.

    Args:
        fn: Maps a list of items to one result per item, in order.
        max_batch: Most items per call of ``fn``.
        max_wait_s: Longest the oldest waiting item waits for others before its batch runs.
        concurrency: Most calls of ``fn`` at once.
    """

    def __init__(
        self,
        fn: Callable[[list[T]], Sequence[R]],
        max_batch: int = 32,
        max_wait_s: float = 0.005,
        concurrency: int = 1,
    ) -> None:
        self.fn = fn
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.concurrency = concurrency
        self.calls = 0  # calls of fn, batches and retries alike (tests and benchmarks read it)
        self._pending: list[tuple[T, asyncio.Future[R], float]] = []
        self._full = asyncio.Event()
        self._drainer: asyncio.Task[None] | None = None
        self._slots: asyncio.Semaphore | None = None  # made on the loop that uses it
        self._running: set[asyncio.Task[None]] = set()

    async def submit(self, item: T) -> R:
        """``fn``'s result for ``item``, computed in a batch with concurrent submissions.

        Raises:
            Exception: Whatever ``fn`` raised for ``item`` alone.
        """
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future, time.monotonic()))
        if len(self._pending) >= self.max_batch:
            self._full.set()
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrency)
        while self._pending:
            await self._slots.acquire()  # a free copy of the coder; meanwhile the batch grows
            wait = self.max_wait_s - (time.monotonic() - self._pending[0][2])
            if len(self._pending) < self.max_batch and wait > 0:
                self._full.clear()
                with contextlib.suppress(TimeoutError):  # waited long enough: run what came
                    await asyncio.wait_for(self._full.wait(), wait)
            batch = self._pending[: self.max_batch]
            del self._pending[: self.max_batch]
            live = [(item, future) for item, future, _ in batch if not future.done()]
            task = asyncio.create_task(self._run_then_free(live))
            self._running.add(task)  # held, so the task is not collected while it runs
            task.add_done_callback(self._running.discard)

    async def _run_then_free(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            if batch:
                await self._run(batch)
        finally:
            assert self._slots is not None
            self._slots.release()

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            self.calls += 1
            results = await asyncio.to_thread(self.fn, [item for item, _ in batch])
        except Exception as err:  # one bad item must not fail the others: retry them alone
            if len(batch) == 1:
                _settle(batch[0][1], error=err)
                return
            for item, future in batch:
                try:
                    self.calls += 1
                    (result,) = await asyncio.to_thread(self.fn, [item])
                except Exception as one:  # reported to that item's caller only
                    _settle(future, error=one)
                else:
                    _settle(future, result=result)
            return
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result=result)


def _settle(
    future: asyncio.Future[Any], result: Any = None, error: Exception | None = None
) -> None:
    if future.done():  # the caller went away (its request was cancelled)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class CodeBatchers:
    """One :class:`MicroBatcher` per coder in use (per model version), made on first use on
    the API's event loop; with ``code_batching`` off, each text is coded on its own."""

    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.code_batching
        self.max_batch = settings.code_batch_max
        self.max_wait_s = settings.code_batch_wait_ms / 1000
        self._batchers: dict[int, tuple[Any, MicroBatcher[str, ItemResult]]] = {}

    def for_coder(self, coder: Any) -> MicroBatcher[str, ItemResult]:
        """The batcher of ``coder`` (anything with ``code(texts) -> results``)."""
        held = self._batchers.get(id(coder))
        if held is None or held[0] is not coder:
            copies = getattr(coder, "replicas", 1)
            held = (coder, MicroBatcher(coder.code, self.max_batch, self.max_wait_s, copies))
            self._batchers[id(coder)] = held
        return held[1]

    async def code(self, coder: Any, text: str) -> ItemResult:
        """``coder``'s result for ``text``, batched with concurrent requests when enabled."""
        if not self.enabled:
            return (await asyncio.to_thread(coder.code, [text]))[0]
        return await self.for_coder(coder).submit(text)
