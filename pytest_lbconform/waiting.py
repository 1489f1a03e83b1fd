"""Waiting on a condition with a stated budget (tenacity), never a bare sleep."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import RetryError, Retrying, retry_if_exception, retry_if_result, stop_after_delay, wait_fixed
from tenacity.retry import retry_base

from .errors import InfrastructureError

T = TypeVar("T")


def wait_for(probe: Callable[[], T], ok: Callable[[T], bool], *, budget: float, interval: float = 0.1,
             what: str, transient: Callable[[BaseException], bool] | None = None) -> T:
    """Call ``probe`` every ``interval`` s until ``ok(value)``; return that value.

    An exception ``transient`` accepts (an API server restarting, a webhook not serving yet) is retried
    like a value that is not ok yet; any other exception ends the wait at once. Raises
    :class:`InfrastructureError` naming ``what`` and the last value (or error) when ``budget`` runs out.
    """
    last: list[object] = []

    def attempt_once() -> T:
        try:
            value = probe()
        except Exception as exc:
            last[:] = [exc]
            raise
        last[:] = [value]
        return value

    retry: retry_base = retry_if_result(lambda v: not ok(v))
    if transient is not None:
        retry = retry | retry_if_exception(transient)
    try:
        retrying = Retrying(stop=stop_after_delay(budget), wait=wait_fixed(interval), retry=retry, reraise=False)
        return retrying(attempt_once)
    except RetryError as exc:
        seen = "nothing" if not last else (f"error {_one_line(last[0])}" if isinstance(last[0], BaseException)
                                           else repr(last[0]))
        raise InfrastructureError(f"{what}: not reached within {budget} s (last seen: {seen})") from exc


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}"
