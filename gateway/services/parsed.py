"""File parsing off the event loop and out of the API process's GIL: a process pool the app owns, and a
parse's outcome as plain data that crosses back from it.

A reader is CPU-bound pure Python plus lxml (which holds the GIL while it parses): run in the request's
thread, a slow file (a 7.6 MiB camt took 25 s) starved every other request of the GIL, `/health` included.
The upload routes (`gateway.api.parsing`, and the console's POD upload) hand the parse — a pure mapping
function of bytes, so its arguments and result pickle — to this pool and await it; the event loop and the
other threads keep answering meanwhile. The rest of intake — storing, linking, applying — stays in the
request's thread.

What crosses back is plain data: a route either awaits a reader that never raises (`run`, e.g.
`read_remittance_file`), or `read`s a file into a `Parsed` outcome that it hands to its service
(`parsed=`), which meets the reader's refusal exactly where it would have met it reading in place
(`Parsed.get` raises it there): the answers do not depend on where the file was read. An error that would
not unpickle in the API process (which breaks a `ProcessPoolExecutor` for good) is replaced in the pool
process by a `ParseFailed` naming it; a pool broken anyway (a killed process) is replaced on the next use.

The pool is created on first use (an API that never receives a file starts no processes), sized by
`GATEWAY_PARSE_WORKERS`, started with `spawn` (a fork would copy the API's threads, locks and database
connections into the child) and shut down with the app. `GATEWAY_PARSE_WORKERS=0` parses in a thread of
the API process instead (tests, tiny installations).
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import pickle
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")


class ParseFailed(RuntimeError):
    """A reader raised an error that cannot cross a process boundary (it does not pickle): its type and text.

    A reader's own errors (`FormatError` and its kind) cross whole; this stands in for anything else, which
    would otherwise break the process pool on its way back.
    """


@dataclass(frozen=True)
class Parsed(Generic[T]):
    """What `function(data)` gave: its value, or the error it raised (never both)."""

    value: T | None = None
    error: Exception | None = None

    def get(self) -> T:
        """The value, or the reader's error raised here, where the service would have met it."""
        if self.error is not None:
            raise self.error
        return cast(T, self.value)


def portable(error: Exception) -> Exception:
    """`error` when it survives a pickle round trip unchanged in type, else a `ParseFailed` naming it."""
    try:
        if type(pickle.loads(pickle.dumps(error))) is type(error):  # noqa: S301 - our own bytes, just made
            return error
    except Exception:  # noqa: S110 - whatever a foreign exception does when pickled: replaced below
        pass
    return ParseFailed(f"{type(error).__name__}: {error}")


def parse(function: Callable[..., T], *args: Any, **kwargs: Any) -> Parsed[T]:
    """`function(*args, **kwargs)` as a `Parsed`: the value, or the error it raised (made `portable`)."""
    try:
        return Parsed(function(*args, **kwargs))
    except Exception as error:  # handed back to the service, which raises it where it would have
        return Parsed(error=portable(error))


def _portably(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """In the pool process: `function`, its error made `portable` (one that unpickles in the API)."""
    try:
        return function(*args, **kwargs)
    except Exception as error:
        raise portable(error) from None


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

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`function(*args, **kwargs)` in a pool process (a module-level function: it is pickled by name);
        its error is raised here."""
        call = functools.partial(function, *args, **kwargs)
        executor = self.executor()
        if executor is None:
            return await asyncio.to_thread(call)
        try:
            return await asyncio.get_running_loop().run_in_executor(
                executor, functools.partial(_portably, call)
            )
        except BrokenProcessPool:
            self._discard(executor)  # a pool process died (killed, out of memory): a new pool next time
            raise

    async def read(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> Parsed[T]:
        """`function(*args, **kwargs)` in a pool process as a `Parsed` outcome (for the service to take)."""
        return await self.run(parse, function, *args, **kwargs)

    def _discard(self, executor: Executor) -> None:
        with self._lock:
            if self._executor is executor:
                self._executor = None
        executor.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
                self._executor = None
