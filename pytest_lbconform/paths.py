"""Where the project's data lives (``fixtures/`` is data, shipped beside the package)."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent
FIXTURES = ROOT / "fixtures"
