"""The services every provider deploys for the suites (the three of the KANS notes).

Scenarios name them; providers create them with VIPs from their pool.
"""

from __future__ import annotations

from .providers.base import Affinity, TrafficPolicy

#: name → (externalTrafficPolicy, sessionAffinity)
SERVICES: dict[str, tuple[TrafficPolicy, Affinity]] = {
    "svc1": ("Cluster", "None"),
    "svc2": ("Local", "None"),
    "svc3": ("Cluster", "ClientIP"),
}
SERVICE_NAMES = tuple(SERVICES)
