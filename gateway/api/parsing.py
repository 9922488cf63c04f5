"""File parsing off the event loop and out of the API process's GIL: a process pool the app owns.

A reader is CPU-bound pure Python plus lxml (which holds the GIL while it parses): run in the request's
thread, a slow file (a 7.6 MiB camt took 25 s) starved every other request of the GIL, `/health` included.
The upload routes hand the parse — a pure mapping function of bytes, so its arguments and result pickle —
to this pool and await it; the event loop and the other threads keep answering meanwhile.

The pool is created on first use (an API that never receives a file starts no processes), sized by
`GATEWAY_PARSE_WORKERS`, started with `spawn` (a fork would copy the API's threads, locks and database
connections into the child) and shut down with the app. `GATEWAY_PARSE_WORKERS=0` parses in a thread of
the API process instead (tests, tiny installations).
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool

T = TypeVar("T")


class ParsePool:
    """A lazily created `ProcessPoolExecutor` of `workers` processes (0: parse in a thread instead)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def executor(self) -> Executor | None:
        if self.workers <= 0:
            return None
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
                )
            return self._executor

    @property
    def started(self) -> bool:
        return self._executor is not None

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """`function(*args)` in a pool process (a module-level function: it is pickled by name)."""
        executor = self.executor()
        if executor is None:
            return await run_in_threadpool(function, *args)
        return await asyncio.get_running_loop().run_in_executor(executor, functools.partial(function, *args))

    def shutdown(self) -> None:
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
                self._executor = None


def parse_pool(request: Request) -> ParsePool:
    pool: ParsePool = request.app.state.parse_pool
    return pool
