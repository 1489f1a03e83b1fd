"""pytest-lbconform: conformance suites for bare-metal Kubernetes LoadBalancers."""

from __future__ import annotations

__version__ = "0.1.0"
