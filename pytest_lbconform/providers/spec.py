"""Provider specs: what an LB declares about itself (platforms, modes, capabilities, budgets)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import implementations
from ..errors import ConfigError
from ..paths import FIXTURES
from .kube_model import Kubernetes, NotSupported
from .spec_model import read_spec

SPEC_DIR = FIXTURES / "providers"
PLATFORMS = ("kind", "lab", "existing")
#: the implementation that drives a spec with a ``kubernetes:`` section and no ``provider:``
KUBE_L2 = implementations.KUBE_L2


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
    kubernetes: Kubernetes | None = None  #: a declarative Kubernetes L2 LB (``kube_model``)
    not_supported: tuple[NotSupported, ...] = ()  #: capabilities lacking by design, with reason and source
    reasons: dict[str, str] = field(default_factory=dict)  #: capability or fault kind → why declared / that budget

    @property
    def implementation(self) -> str:
        """The code that drives this LB: ``provider:``, else the generic Kubernetes L2 provider for a spec with a
        ``kubernetes:`` section, else the spec's own name."""
        return self.provider or (KUBE_L2 if self.kubernetes is not None else self.name)

    def unsupported(self, capability: str) -> NotSupported | None:
        """The spec's "not supported by design" entry for ``capability``, if it has one."""
        return next((n for n in self.not_supported if n.capability == capability), None)

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
    both = sorted({n.capability for n in model.not_supported} & set(model.capabilities))
    if both:
        raise ConfigError(f"provider spec {path}: not_supported names {', '.join(both)}, which capabilities declares; "
                          "keep each in one of them")
    if model.kubernetes is not None and "lab" in model.platforms:
        raise ConfigError(f"provider spec {path}: a kubernetes: section runs on kind or existing, not lab; "
                          f"platforms: {', '.join(model.platforms)}")
    return ProviderSpec(
        name=model.name, project=model.project or model.name, platforms=tuple(model.platforms),
        default_platform=model.default_platform or model.platforms[0],
        modes={k: tuple(v) for k, v in model.modes.items()}, capabilities=frozenset(model.capabilities),
        settings=model.settings.model_dump(exclude_none=True),
        optional_modes={k: tuple(v) for k, v in model.optional_modes.items()},
        budgets=dict(model.budgets), source=str(path), provider=model.provider or "",
        organization=model.organization or "", url=model.url or "", contact=tuple(model.contact),
        kubernetes=model.kubernetes, not_supported=tuple(model.not_supported), reasons=dict(model.reasons),
    )


def builtin_specs() -> dict[str, ProviderSpec]:
    """The specs shipped in ``fixtures/providers``, by name."""
    specs = (load_spec(p) for p in sorted(SPEC_DIR.glob("*.yaml")))
    return {s.name: s for s in specs}
