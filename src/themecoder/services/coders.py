"""The coders a service process holds: one per model version in use, loaded lazily, once.

Projects start on the shipped model and move to their own version when a retrain is
promoted. The coders of a registry share one embedding model (same weights, loaded once).
Calls into one copy of a coder are serialised: Hugging Face tokenizers and spaCy pipelines are
not safe to share across threads; parallel calls need copies (``replicas``), one core each.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from themecoder.coder import Coder
from themecoder.config import Settings
from themecoder.domain import Item, ItemResult
from themecoder.errors import ModelUnavailable


class LockedCoder:
    """A coder whose calls run on dedicated threads, one call at a time per thread.

    Exposes what the services use (``version``, ``code``, ``encode``, ``replicas``). Threads
    rather than a lock: torch's OpenMP team belongs to the calling thread, so calls arriving on
    changing request threads would each wake (or build) a different team; on one thread it
    stays warm. With ``replicas`` (copies of the coder, each with its own models: tokenizers
    and spaCy pipelines are not safe to share across threads) each copy has a thread of its
    own and a call takes whichever is free, so that many calls run in parallel.

    Args:
        coder: The coder.
        threads: torch threads of each thread's OpenMP team (None: torch's default).
        nice: Added to the threads' niceness (Linux: per thread; the OpenMP threads they start
            inherit it), so a background coder yields the cores to an interactive one.
        replicas: Further copies of ``coder`` (same artifact, models of their own).
    """

    def __init__(
        self,
        coder: Coder,
        threads: int | None = None,
        nice: int = 0,
        replicas: Sequence[Coder] = (),
    ) -> None:
        self.coder = coder
        self.version = coder.version
        self.replicas = 1 + len(replicas)
        self._free: queue.SimpleQueue[tuple[Coder, ThreadPoolExecutor]] = queue.SimpleQueue()
        for one in (coder, *replicas):
            thread = ThreadPoolExecutor(
                max_workers=1,
                thread_name_prefix="coder",
                initializer=pin_thread,
                initargs=(threads, nice),
            )
            self._free.put((one, thread))

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        one, thread = self._free.get()  # blocks while every copy is busy
        try:
            target = one.embedder.encode if method == "encode" else getattr(one, method)
            return thread.submit(target, *args, **kwargs).result()
        finally:
            self._free.put((one, thread))

    def code(self, items: Sequence[str | Item], progress: Any = None) -> list[ItemResult]:
        return self._call("code", items, progress=progress)

    def encode(self, texts: Sequence[str]) -> Any:
        """Embed ``texts`` with the coder's embedding model (on a coder thread)."""
        return self._call("encode", list(texts))


def pin_thread(threads: int | None = None, nice: int = 0) -> None:
    """Set the calling thread's torch threads and run it ``nice`` below the process's main
    thread (never raising its priority; idempotent, so a thread started by an already lowered
    one stays where it is).

    torch applies ``set_num_threads`` to the calling thread's OpenMP team (and to threads that
    have not run torch yet), so each coder thread sets its own. Niceness is per thread on
    Linux (``setpriority`` on the thread id), and threads started later inherit it.
    """
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    if nice > 0 and hasattr(os, "setpriority"):
        tid = threading.get_native_id()
        target = min(19, os.getpriority(os.PRIO_PROCESS, os.getpid()) + nice)
        if os.getpriority(os.PRIO_PROCESS, tid) < target:
            os.setpriority(os.PRIO_PROCESS, tid, target)


class CoderRegistry:
    """Coders by artifact folder; ``None`` names the shipped model (``settings.model_dir``), a
    relative path a folder of the model store (``settings.project_models_dir``).

    ``threads`` and ``nice`` set up each coder's thread (see :func:`pin_thread`): the API's
    interactive coders and a job worker's coders are separate registries, so a bulk chunk
    never queues on the thread that serves ``POST /v1/code``. ``replicas`` loads that many
    copies of each coder (copy ``i`` of every model version shares one embedding model), for
    parallel calls; a coder passed as ``default`` has no copies.
    """

    def __init__(
        self,
        settings: Settings,
        default: Coder | None = None,
        threads: int | None = None,
        nice: int = 0,
        replicas: int = 1,
    ) -> None:
        self.settings = settings
        self.threads = threads
        self.nice = nice
        self.replicas = replicas
        self._copy_embedders: list[Any] = []  # the embedding model of each further copy
        self._coders: dict[str, LockedCoder] = {}
        self._lock = threading.Lock()
        if default is not None:
            self._coders[self._key(None)] = LockedCoder(default, threads, nice)

    def resolve(self, path: str | Path | None) -> Path:
        """The folder of a stored model path: ``None`` is the shipped model, a relative path
        lies in the model store (``settings.project_models_dir``)."""
        if path is None:
            return Path(self.settings.model_dir).resolve()
        p = Path(path)
        return (p if p.is_absolute() else Path(self.settings.project_models_dir) / p).resolve()

    def _key(self, path: str | Path | None) -> str:
        return str(self.resolve(path))

    @staticmethod
    def _load(s: Any, shared: Any, *, project_model: bool) -> Coder:
        """Load a coder; a project's promoted model missing from the store names the store's
        setting (the shipped model's hint, THEMECODER_MODEL_DIR, would mislead)."""
        try:
            return Coder.load(s, embedder=shared)
        except ModelUnavailable as exc:
            if not project_model:
                raise
            raise ModelUnavailable(
                f"the project's model is not in the model store ({s.model_dir}); restore it "
                "there, point THEMECODER_PROJECT_MODELS_DIR at the store, or roll back to "
                "'shipped' (themecoder models rollback --to shipped)"
            ) from exc

    @property
    def embedder(self) -> Any:
        """The shared embedding model (loads the default coder if none is loaded yet)."""
        return self.get(None).coder.embedder

    def get(self, path: str | Path | None) -> LockedCoder:
        """The coder of the artifact at ``path``, loading it on first use."""
        key = self._key(path)
        with self._lock:
            if key not in self._coders:
                shared = next(iter(self._coders.values())).coder.embedder if self._coders else None
                s = self.settings.model_copy(update={"model_dir": Path(key)})
                coder = self._load(s, shared, project_model=path is not None)
                copies = [
                    Coder.load(s, embedder=e)
                    for e in self._copy_embedders or [None] * (self.replicas - 1)
                ]
                self._copy_embedders = [c.embedder for c in copies]
                self._coders[key] = LockedCoder(coder, self.threads, self.nice, copies)
            return self._coders[key]
