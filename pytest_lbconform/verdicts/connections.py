"""Every connection of a traffic check is judged: failures count against the check's stated bound.

A verdict that looked only at the answers that came back would pass a data plane dropping a third
of new connections (kubernetes/kubernetes#71596: IPVS + externalTrafficPolicy Local, 1 of N
connections answered). So every traffic verdict first calls :func:`judge_failures`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from ..checks import check
from ..probes.records import Sample
from .result import Verdict


def error_kind(error: str | None) -> str:
    """``ConnectionRefusedError: [Errno 111] …`` → ``ConnectionRefusedError``; ``status 503`` stays."""
    if not error:
        return "unknown"
    return error.split(":", 1)[0].strip() or "unknown"


def failure_figures(check_id: str, samples: Sequence[Sample]) -> dict[str, Any]:
    """Counts of every connection: answered, failed (by kind), and the bound for ``check_id``."""
    bound = check(check_id).error_bound
    failed = [s for s in samples if not s.ok]
    return {"connections": len(samples), "answered": len(samples) - len(failed), "failed": len(failed),
            "failed_by_kind": dict(Counter(error_kind(s.error) for s in failed)),
            "failures_allowed": bound.allowed(len(samples)) if bound else 0,
            "error_bound_share": bound.max_share if bound else 0.0}


def judge_failures(check_id: str, samples: Sequence[Sample], expected: str) -> tuple[dict[str, Any], Verdict | None]:
    """The failure figures, and a failing verdict when the failures exceed the check's bound (else None).

    No connection at all is a failure too: a check never passes on nothing.
    """
    figures = failure_figures(check_id, samples)
    if not samples:
        return figures, Verdict(check_id, False, expected, "no connection was attempted", figures,
                                "connection failures")
    if figures["failed"] > figures["failures_allowed"]:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(figures["failed_by_kind"].items()))
        return figures, Verdict(check_id, False, expected,
                                f"{figures['failed']} of {figures['connections']} connections failed ({kinds}); "
                                f"at most {figures['failures_allowed']} may "
                                f"({figures['error_bound_share']:.1%} of {figures['connections']})",
                                figures, "connection failures")
    return figures, None


def answered_text(figures: dict[str, Any]) -> str:
    """``900/900 answered`` or ``897/900 answered (3 failed ≤ 4 allowed)``, for a passing verdict's text."""
    text = f"{figures['answered']}/{figures['connections']} answered"
    if figures["failed"]:
        text += f" ({figures['failed']} failed ≤ {figures['failures_allowed']} allowed)"
    return text
