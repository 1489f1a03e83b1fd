"""The result every verdict returns: pass/fail, what was expected, what was measured, the figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..checks import CATEGORIES, check


@dataclass(frozen=True)
class Verdict:
    check: str                      #: a check id of the registry (``checks.CHECKS``)
    passed: bool
    expected: str                   #: computed before the action ran
    measured: str
    figures: dict[str, Any] = field(default_factory=dict)
    category: str = ""              #: failure class (``checks.CATEGORIES``), one the check declares

    def __post_init__(self) -> None:
        row = check(self.check)  # KeyError naming the known ids
        if not isinstance(self.passed, bool):
            raise TypeError(f"verdict {self.check}: passed must be True or False, not {self.passed!r}")
        if not (isinstance(self.expected, str) and self.expected and isinstance(self.measured, str) and self.measured):
            raise ValueError(f"verdict {self.check}: expected and measured must be non-empty texts")
        if not isinstance(self.figures, dict):
            raise TypeError(f"verdict {self.check}: figures must be a dict, not {type(self.figures).__name__}")
        if self.passed and self.category:
            raise ValueError(f"verdict {self.check}: a passing verdict has no failure category ({self.category!r})")
        if not self.passed:
            if self.category not in CATEGORIES:
                raise ValueError(f"verdict {self.check}: category {self.category!r} is not in the registry")
            if self.category not in row.categories and self.category != "unsupported core capability":
                raise ValueError(f"verdict {self.check}: category {self.category!r} is not one the check declares "
                                 f"({', '.join(row.categories)})")

    @property
    def message(self) -> str:
        state = "ok" if self.passed else "FAILED"
        head = f"[{self.category}] " if self.category and not self.passed else ""
        return f"{head}{self.check} {state}: expected {self.expected}; measured {self.measured}"

    def __bool__(self) -> bool:
        return self.passed
