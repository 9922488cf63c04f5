"""A real parse pool that records which reader each upload ran in it, shared by the tests that need one.

Spawning a pool costs a second or more (a fresh interpreter importing the gateway), so the suite's
`settings` parse in a thread (`parse_workers=0`) and the few tests that check the pool share one
(`tests.conftest.parse_pool_for_tests`, session-scoped): an app's own shutdown leaves it running.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, TypeVar

from pydantic import BaseModel

from gateway.services.parsed import ParsePool, parse

T = TypeVar("T")


def reader_name(function: Any) -> str:
    """`examine`, `parse`… of a function or a `functools.partial` of one: what ran in the pool."""
    while isinstance(function, functools.partial):
        function = function.func
    return f"{function.__module__}.{function.__qualname__}"


class RecordingPool(ParsePool):
    """A one-process pool that notes each reader it ran (`readers`); `close` ends it, `shutdown` does not."""

    def __init__(self) -> None:
        super().__init__(1)
        self.readers: list[str] = []

    async def run(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        self.readers.append(reader_name(args[0] if function is parse else function))
        return await super().run(function, *args, **kwargs)

    def shutdown(self) -> None:  # an app's lifespan ends: the pool outlives it
        pass

    def close(self) -> None:
        super().shutdown()

    def ran_in_a_process(self) -> bool:
        executor = self.executor()
        return executor is not None and bool(getattr(executor, "_processes", None))


def plain(value: Any) -> Any:
    """`value` as comparable plain data: dataclasses and models as dicts, an exception as its class, args
    and attributes (exceptions compare by identity, and what crossed a process boundary is a copy)."""
    if isinstance(value, BaseException):
        return {"exception": type(value).__qualname__, "args": plain(value.args), **plain(vars(value))}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            "dataclass": type(value).__qualname__,
            **{field.name: plain(getattr(value, field.name)) for field in dataclasses.fields(value)},
        }
    if isinstance(value, BaseModel):
        return plain(value.model_dump())
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value
