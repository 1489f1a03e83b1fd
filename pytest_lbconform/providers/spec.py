"""Provider specs: what an LB declares about itself (platforms, modes, capabilities, budgets)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..paths import FIXTURES
from .spec_model import read_spec

SPEC_DIR = FIXTURES / "providers"
PLATFORMS = ("kind", "lab", "existing")


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
    organization: str = ""
    url: str = ""
    contact: tuple[str, ...] = ()  #: where a user reaches the implementation's maintainers (the report shows it)

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
    """Read and check one spec file (``spec_model``); errors are one line naming the file and the key."""
    model = read_spec(path)
    named = set(model.modes) | set(model.optional_modes) | {model.default_platform or model.platforms[0]}
    unknown_platforms = sorted(named - set(model.platforms))
    if unknown_platforms:
        raise ConfigError(f"provider spec {path}: modes/default_platform name {', '.join(unknown_platforms)}, which "
                          f"platforms does not list ({', '.join(model.platforms)})")
    unbudgeted = sorted(c.split(":", 1)[1] for c in model.capabilities if c.startswith("failover:")
                        and c.split(":", 1)[1] not in model.budgets)
    if unbudgeted:
        raise ConfigError(f"provider spec {path}: declares failover for {', '.join(unbudgeted)} but gives no "
                          f"budget; add budgets: {{{unbudgeted[0]}: SECONDS}}")
    return ProviderSpec(
        name=model.name, project=model.project or model.name, platforms=tuple(model.platforms),
        default_platform=model.default_platform or model.platforms[0],
        modes={k: tuple(v) for k, v in model.modes.items()}, capabilities=frozenset(model.capabilities),
        settings=model.settings.model_dump(exclude_none=True),
        optional_modes={k: tuple(v) for k, v in model.optional_modes.items()},
        budgets=dict(model.budgets), source=str(path), provider=model.provider or "",
        organization=model.organization or "", url=model.url or "", contact=tuple(model.contact),
    )


def builtin_specs() -> dict[str, ProviderSpec]:
    """The specs shipped in ``fixtures/providers``, by name."""
    specs = (load_spec(p) for p in sorted(SPEC_DIR.glob("*.yaml")))
    return {s.name: s for s in specs}
