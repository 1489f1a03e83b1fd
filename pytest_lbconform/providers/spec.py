"""Provider specs: what an LB declares about itself (platforms, modes, capabilities, budgets)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from ..paths import FIXTURES

SPEC_DIR = FIXTURES / "providers"
PLATFORMS = ("kind", "lab", "existing")
MAX_SPEC_BUDGET_S = 120.0  #: the same ceiling as config.MAX_BUDGET_S (a failover budget in seconds)


@dataclass(frozen=True)
class ProviderSpec:
    name: str
    project: str
    platforms: tuple[str, ...]
    default_platform: str
    modes: dict[str, tuple[str, ...]]
    capabilities: frozenset[str]
    optional_modes: dict[str, tuple[str, ...]] = field(default_factory=dict)  #: accepted, run only on request
    settings: dict[str, Any] = field(default_factory=dict)
    budgets: dict[str, float] = field(default_factory=dict)
    source: str = ""
    provider: str = ""  #: the built-in implementation that drives this LB (default: the spec's name)

    @property
    def implementation(self) -> str:
        return self.provider or self.name

    @property
    def builtin(self) -> bool:
        """Shipped with the suite (``fixtures/providers``), not a spec of the user's own."""
        return bool(self.source) and Path(self.source).resolve().parent == SPEC_DIR.resolve()

    def modes_on(self, platform: str) -> tuple[str, ...]:
        """The modes a run covers by default on ``platform``."""
        return self.modes.get(platform, ())

    def accepted_modes(self, platform: str) -> tuple[str, ...]:
        """Default modes plus the opt-in ones (negative controls, newer kube-proxy modes)."""
        return self.modes_on(platform) + self.optional_modes.get(platform, ())


def load_spec(path: Path) -> ProviderSpec:
    """Read and check one spec file; errors name the file and the field."""
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"provider spec {path}: cannot read it ({exc})") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"provider spec {path}: expected a mapping at the top level")
    missing = [k for k in ("name", "platforms", "modes", "capabilities") if k not in raw]
    if missing:
        raise ConfigError(f"provider spec {path}: missing field(s) {', '.join(missing)}")
    platforms = tuple(raw["platforms"])
    unknown = [p for p in platforms if p not in PLATFORMS]
    if unknown:
        raise ConfigError(f"provider spec {path}: platforms {unknown} not among {', '.join(PLATFORMS)}")
    budgets: dict[str, float] = {}
    for kind, seconds in (raw.get("budgets") or {}).items():
        try:
            value = float(seconds)
        except (TypeError, ValueError):
            value = math.nan
        if not (math.isfinite(value) and 0 < value <= MAX_SPEC_BUDGET_S):
            raise ConfigError(f"provider spec {path}: budgets.{kind}={seconds!r} is not accepted; "
                              f"give seconds, finite, > 0 and ≤ {MAX_SPEC_BUDGET_S:g}")
        budgets[str(kind)] = value
    capabilities = raw["capabilities"]
    if not isinstance(capabilities, list) or not all(isinstance(c, str) for c in capabilities):
        raise ConfigError(f"provider spec {path}: capabilities must be a list of names, not {capabilities!r}")
    unbudgeted = sorted(c.split(":", 1)[1] for c in capabilities if c.startswith("failover:")
                        and c.split(":", 1)[1] not in budgets)
    if unbudgeted:
        raise ConfigError(f"provider spec {path}: declares failover for {', '.join(unbudgeted)} but gives no "
                          f"budget; add budgets: {{{unbudgeted[0]}: SECONDS}}")
    return ProviderSpec(
        name=str(raw["name"]), project=str(raw.get("project", raw["name"])), platforms=platforms,
        default_platform=str(raw.get("default_platform", platforms[0])),
        modes={str(k): tuple(v) for k, v in raw["modes"].items()},
        capabilities=frozenset(raw["capabilities"]), settings=dict(raw.get("settings") or {}),
        optional_modes={str(k): tuple(v) for k, v in (raw.get("optional_modes") or {}).items()},
        budgets=budgets, source=str(path), provider=str(raw.get("provider") or ""),
    )


def builtin_specs() -> dict[str, ProviderSpec]:
    """The specs shipped in ``fixtures/providers``, by name."""
    specs = (load_spec(p) for p in sorted(SPEC_DIR.glob("*.yaml")))
    return {s.name: s for s in specs}
