"""Where the project's data and suites live: inside the package, so that a wheel ships them."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent  #: the checkout (or site-packages, for an installed wheel)
FIXTURES = PACKAGE / "fixtures"
SUITES = PACKAGE / "suites"
