"""The result every verdict returns: pass/fail, what was expected, what was measured, the figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Verdict:
    check: str                      #: short name of the promise checked
    passed: bool
    expected: str                   #: computed before the action ran
    measured: str
    figures: dict[str, Any] = field(default_factory=dict)
    category: str = ""              #: failure class for allure categories (e.g. "multiple ARP owners")

    @property
    def message(self) -> str:
        state = "ok" if self.passed else "FAILED"
        head = f"[{self.category}] " if self.category and not self.passed else ""
        return f"{head}{self.check} {state}: expected {self.expected}; measured {self.measured}"

    def __bool__(self) -> bool:
        return self.passed
