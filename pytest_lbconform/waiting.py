"""Waiting on a condition with a stated budget (tenacity), never a bare sleep."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

from .errors import InfrastructureError

T = TypeVar("T")


def wait_for(probe: Callable[[], T], ok: Callable[[T], bool], *, budget: float, interval: float = 0.1,
             what: str) -> T:
    """Call ``probe`` every ``interval`` s until ``ok(value)``; return that value.

    Raises :class:`InfrastructureError` naming ``what`` and the last value when ``budget`` runs out.
    """
    last: list[T] = []

    def attempt_once() -> T:
        value = probe()
        last[:] = [value]
        return value

    try:
        retrying = Retrying(stop=stop_after_delay(budget), wait=wait_fixed(interval),
                            retry=retry_if_result(lambda v: not ok(v)), reraise=False)
        return retrying(attempt_once)
    except RetryError as exc:
        seen = repr(last[0]) if last else "nothing"
        raise InfrastructureError(f"{what}: not reached within {budget} s (last seen: {seen})") from exc
