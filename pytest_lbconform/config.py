"""One typed RunConfig from command line, ini and environment, validated with one-line errors."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import implementations
from .checks import FAULT_KINDS
from .errors import ConfigError, shown
from .images import IMAGE_SOURCES
from .platforms import existing, kind
from .providers import kube_l2, metallb
from .providers.mutants import MUTANTS
from .providers.spec import PLATFORMS, ProviderSpec, builtin_specs, load_spec

DEFAULT_LB = "keepalived"
#: a failover budget above this is no failover (and the availability probe would record for minutes)
MAX_BUDGET_S = 120.0
#: seconds as a user types them: ASCII digits only (float() also reads "３", "1_0" and " 3 "), an optional
#: fraction and exponent; the range is checked apart
SECONDS = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)

#: option name → (environment variable, ini key); command line wins, then env, then ini
FALLBACKS = {
    "lb": ("LBCONFORM_LB", "lbconform_lb"),
    "platform": ("LBCONFORM_PLATFORM", "lbconform_platform"),
    "proxy_mode": ("LBCONFORM_PROXY_MODE", "lbconform_proxy_mode"),
    "report_dir": ("LBCONFORM_REPORT_DIR", "lbconform_report_dir"),
    "lab_image_source": ("LBCONFORM_LAB_IMAGE_SOURCE", "lbconform_lab_image_source"),
    "failover_budget": ("LBCONFORM_FAILOVER_BUDGET", "lbconform_failover_budget"),
    "lab_mutant": ("LBCONFORM_LAB_MUTANT", "lbconform_lab_mutant"),
    "address_families": ("LBCONFORM_ADDRESS_FAMILIES", "lbconform_address_families"),
    # --platform=existing; the kubeconfig then falls back to KUBECONFIG and ~/.kube/config, as kubectl's does
    "kubeconfig": ("LBCONFORM_KUBECONFIG", "lbconform_kubeconfig"),
    "context": ("LBCONFORM_CONTEXT", "lbconform_context"),
    "client_network": ("LBCONFORM_CLIENT_NETWORK", "lbconform_client_network"),
}
#: options that only apply on --platform=existing (``--allow-faults`` has no env or ini key: an opt-in to disturb a
#: cluster is given per run, on the command line)
EXISTING_ONLY = ("kubeconfig", "context", "client_network", "allow_faults")


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs to know, checked once at start-up."""

    lb: str
    spec: ProviderSpec
    platform: str
    modes: tuple[str, ...]
    keep: bool
    report_dir: Path
    lab_image_source: str
    ci: bool
    require_all: bool = False
    budget_overrides: dict[str, float] = field(default_factory=dict)
    mutant: str | None = None  #: lab only: the reference LB broken on purpose (providers/mutants.py)
    plan: bool = False         #: print what would be created and applied, create nothing
    kind_image: str | None = None
    preload_images: bool = False
    reuse_clusters: bool = False  #: kind: stable names, reuse a cluster whose config hash matches, keep it
    #: existing: the cluster (kubeconfig, context, API server), read only
    target: existing.Target | None = None
    allow_faults: bool = False    #: existing: faults (and other disturbances) may be injected into the user's cluster
    client_network: str | None = None  #: existing: the Docker network the clients join (default: the nodes')
    #: existing: the cluster's kube-proxy mode as read (or given), with what it means
    proxy: existing.ProxyMode | None = None
    cluster_why: str = ""         #: existing with --plan: why the cluster could not be read (empty when it was)
    address_families: tuple[int, ...] = (4,)  #: IP families judged (checks of the others are skipped, with why)
    families_why: str = "--address-families=4"  #: why the other families are not judged (for their skips)

    def budget(self, fault_kind: str) -> float:
        """Failover budget in seconds: the command line's, else the provider spec's."""
        for key in (fault_kind, "*"):
            if key in self.budget_overrides:
                return self.budget_overrides[key]
        if fault_kind not in self.spec.budgets:
            raise ConfigError(f"provider {self.lb} declares no failover budget for {fault_kind}; "
                              f"set one with --failover-budget {fault_kind}=SECONDS")
        return self.spec.budgets[fault_kind]

    def budgets_report(self) -> dict[str, object]:
        """The budgets this run judges failover by, for the certification report."""
        used = {}
        for fault_kind in FAULT_KINDS:
            try:
                used[fault_kind] = self.budget(fault_kind)
            except ConfigError:
                continue
        return {"unit": "s", "used": used, "spec": dict(self.spec.budgets), "overridden": dict(self.budget_overrides)}

    @property
    def label(self) -> str:
        mutant = f" mutant={self.mutant}" if self.mutant else ""
        return f"lb={self.lb} platform={self.platform} modes={','.join(self.modes) or 'unknown'}{mutant}"


def is_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def build(option: Callable[[str], object], ini: Callable[[str], object], rootdir: Path,
          specs: dict[str, ProviderSpec] | None = None, create_report_dir: bool = True) -> RunConfig:
    """Build and validate the RunConfig; raise :class:`ConfigError` with one line on bad input.

    The report directory is created only with ``create_report_dir`` (a run of the suites, not ``--plan``
    and not an unrelated test run that merely has the plugin installed)."""

    def value(name: str) -> str | None:
        cli = option(name)
        if cli not in (None, ""):
            return str(cli)
        env_name, ini_name = FALLBACKS[name]
        if os.environ.get(env_name):
            return os.environ[env_name]
        raw = ini(ini_name)
        return str(raw) if raw not in (None, "", []) else None

    def origin(name: str) -> str:
        """Where ``name``'s value came from, as the user wrote it: ``--x``, ``LBCONFORM_X`` or ini ``lbconform_x``."""
        env_name, ini_name = FALLBACKS[name]
        if option(name) not in (None, ""):
            return f"--{name.replace('_', '-')}"
        return env_name if os.environ.get(env_name) else f"ini {ini_name}"

    specs, custom = _with_custom_spec(option, dict(specs if specs is not None else builtin_specs()))
    if option("lb") == "":
        raise ConfigError(f"--lb='' is empty; accepted: {', '.join(sorted(specs))} "
                          f"(or leave it out: {_without_option('lb', DEFAULT_LB, ini)})")
    lb = value("lb") or (custom.name if custom is not None else DEFAULT_LB)  # a spec given alone is the one to run
    if lb not in specs:
        raise ConfigError(f"{origin('lb')}={_short(lb)} is not a known provider; accepted: {', '.join(sorted(specs))} "
                          "(or describe yours with --lb-spec FILE.yaml)")
    spec = specs[lb]
    platform = value("platform") or spec.default_platform
    if platform not in PLATFORMS:
        raise ConfigError(f"{origin('platform')}={_short(platform)} is not one of {', '.join(PLATFORMS)}")
    if platform not in spec.platforms:
        raise ConfigError(f"{origin('platform')}={_short(platform)} is not supported by provider {lb}; "
                          f"it runs on: {', '.join(spec.platforms)}")
    _check_implemented(spec, platform, origin("platform") if value("platform") else f"provider {lb}'s default platform")
    _check_spec_for_implementation(spec, platform)
    plan = bool(option("plan"))
    _check_existing_only(option, value, origin, platform, lb)
    modes = () if platform == "existing" else _modes(spec, platform, value("proxy_mode"), origin("proxy_mode"))
    source = value("lab_image_source") or "auto"
    if source not in IMAGE_SOURCES:
        raise ConfigError(f"{origin('lab_image_source')}={_short(source)} is not one of {', '.join(IMAGE_SOURCES)}")
    mutant = _check_mutant(value("lab_mutant"), lb, platform, origin("lab_mutant"))
    _check_flags(option, platform, lb)
    kind_image = _kind_image(option("kind_image"))
    _check_tools(spec, platform, plan)
    budgets = parse_budgets(value("failover_budget"), origin("failover_budget"))
    families, families_why = address_families(value("address_families"), origin("address_families"), platform)
    _check_families_for_implementation(spec, platform, families, origin("address_families"), value("address_families"))
    target, proxy, cluster_why, client_network = None, None, "", None
    if platform == "existing":  # read only, bounded: the kubeconfig, then the cluster's kube-proxy mode
        client_network = existing.check_client_network(value("client_network"), origin("client_network"))
        target, proxy, cluster_why = _existing_cluster(value, origin, plan)
        modes = (proxy.mode,) if proxy.mode else ()
    report_dir = checked_report_dir(value("report_dir"), origin("report_dir"), rootdir,  # created last
                                    create=create_report_dir and not plan)
    return RunConfig(lb=lb, spec=spec, platform=platform, modes=modes, keep=bool(option("keep")),
                     report_dir=report_dir, lab_image_source=source, ci=is_ci(),
                     require_all=bool(option("require_all")),
                     budget_overrides=budgets,
                     mutant=mutant, plan=plan,
                     kind_image=kind_image,
                     preload_images=bool(option("preload_images")), reuse_clusters=bool(option("reuse_clusters")),
                     target=target, allow_faults=bool(option("allow_faults")), client_network=client_network,
                     proxy=proxy, cluster_why=cluster_why, address_families=families, families_why=families_why)


#: where the Linux kernel says whether IPv6 is on (absent: built without it or booted with ipv6.disable=1)
IPV6_SWITCH = Path("/proc/sys/net/ipv6/conf/all/disable_ipv6")


def host_ipv6(switch: Path = IPV6_SWITCH) -> str:
    """Why this host cannot give the lab IPv6 ("" when it can): the kernel's IPv6 is absent or disabled."""
    try:
        disabled = switch.read_text().strip()
    except OSError:
        return f"this host's kernel has no IPv6 ({switch} is missing: built without it or booted with ipv6.disable=1)"
    return "" if disabled == "0" else f"IPv6 is disabled on this host ({switch} = {disabled})"


def address_families(given: str | None, where: str, platform: str, switch: Path = IPV6_SWITCH
                     ) -> tuple[tuple[int, ...], str]:
    """The IP families to judge and why the others are not: ``given`` (4, 6 or 4,6), else the platform's default
    (lab: both where the host has IPv6, kind and existing: 4 until a dual-stack run is asked for)."""
    if given is None:
        if platform != "lab":
            return (4,), f"the default on {platform} is IPv4 only (--address-families=4,6 judges IPv6 too)"
        why = host_ipv6(switch)
        return ((4,), f"{why}; the lab runs IPv4 only") if why else ((4, 6), "")
    parts = [p.strip() for p in given.split(",")]
    families = tuple(int(p) for p in parts if p in ("4", "6"))
    if len(families) != len(parts) or not families or len(set(families)) != len(families):
        raise ConfigError(f"{where}={_short(given)} is not a list of IP families; accepted: 4, 6 or 4,6")
    if 6 in families and platform == "lab" and host_ipv6(switch):
        raise ConfigError(f"{where}={_short(given)} asks for IPv6, but {host_ipv6(switch)}; use {where}=4")
    left = [f for f in (4, 6) if f not in families]
    return tuple(sorted(families)), (f"{where}={','.join(map(str, sorted(families)))}" if left else "")


def _check_families_for_implementation(spec: ProviderSpec, platform: str, families: tuple[int, ...],
                                       where: str, given: str | None) -> None:
    """Where IPv6 has no lane yet, one line (checked before any cluster is read): on kind only MetalLB has dual-stack
    lanes (platforms/kind.py: ipFamily dual; its pool gets an IPv6 range), a spec-described LB's pool template holds
    one IPv4 range; on an existing cluster the run's services are IPv4 (whether the cluster is dual-stack is the
    user's, and nothing reads it yet), so an IPv6 check would have no address to judge."""
    if 6 not in families:
        return
    if platform == "kind" and spec.implementation != implementations.METALLB:
        raise ConfigError(f"{where}={_short(given or '')} asks for IPv6, but on kind only --lb=metallb has "
                          f"dual-stack lanes ({spec.name}'s pool template holds one IPv4 range); use {where}=4")
    if platform == "existing":
        raise ConfigError(f"{where}={_short(given or '')} asks for IPv6, but on --platform=existing the run's "
                          f"services are IPv4 only (IPv6 runs on the lab and on kind with --lb=metallb); "
                          f"use {where}=4")


def _with_custom_spec(option: Callable[[str], object], specs: dict[str, ProviderSpec]
                      ) -> tuple[dict[str, ProviderSpec], ProviderSpec | None]:
    """``specs`` with ``--lb-spec``'s added (a built-in's name only with --lb-spec-replaces-builtin), and that spec."""
    spec_path = option("lb_spec")
    if option("lb_spec_replaces_builtin") and not spec_path:
        raise ConfigError("--lb-spec-replaces-builtin only applies with --lb-spec FILE; give the spec or leave it out")
    if not spec_path:
        return specs, None
    custom = load_spec(Path(str(spec_path)))
    if custom.name in specs and not option("lb_spec_replaces_builtin"):
        raise ConfigError(f"--lb-spec {spec_path}: name {custom.name!r} is a built-in provider's; a spec of your "
                          f"own takes its own name (it can drive the built-in implementation with provider: "
                          f"{specs[custom.name].implementation}), or pass --lb-spec-replaces-builtin to replace it")
    return {**specs, custom.name: custom}, custom


def _check_tools(spec: ProviderSpec, platform: str, plan: bool) -> None:
    """What the implementation needs from the host, checked now in one line rather than after building images."""
    if spec.implementation == implementations.METALLB:
        metallb.version(spec)  # LBCONFORM_METALLB_VERSION goes into a URL: refused now unless a release tag
    if spec.kubernetes is not None and spec.kubernetes.install.helm is not None and platform == "kind" and not plan:
        kube_l2.helm_binary()  # one line when helm is missing, before any cluster is made
    if platform == "kind" and not plan:
        kind.kind_binary()


def _existing_cluster(value: Callable[[str], str | None], origin: Callable[[str], str], plan: bool
                      ) -> tuple[existing.Target, existing.ProxyMode, str]:
    """The kubeconfig and context (checked), the cluster's kube-proxy mode, and with --plan why the API could not be
    read (the plan says so in one line and shows what it can; a run stops with that line)."""
    existing.check_mode_given(value("proxy_mode"), origin("proxy_mode"))  # before the API is asked anything
    target = existing.resolve_target(value("kubeconfig"), origin("kubeconfig"), value("context"), origin("context"))
    try:
        return target, existing.cluster_mode(target, value("proxy_mode"), origin("proxy_mode")), ""
    except existing.ClusterUnreachable as exc:
        if not plan:
            raise
        given = value("proxy_mode")
        return target, existing.ProxyMode(given if given in existing.PROXY_MODES else None, None,
                                          "not read: the API did not answer"), str(exc)


def _check_existing_only(option: Callable[[str], object], value: Callable[[str], str | None],
                         origin: Callable[[str], str], platform: str, lb: str) -> None:
    """``--kubeconfig``, ``--context``, ``--client-network`` (or their LBCONFORM_* / ini keys) and ``--allow-faults``
    only apply on --platform=existing: one line naming where each came from (KUBECONFIG, kubectl's, is never
    refused: it is read only on existing)."""
    if platform == "existing":
        return
    given = [f"--{n.replace('_', '-')}" if n == "allow_faults" else origin(n)
             for n in EXISTING_ONLY if (option(n) if n == "allow_faults" else value(n))]
    if given:
        raise ConfigError(f"{', '.join(given)} only appl{'y' if len(given) > 1 else 'ies'} on --platform=existing (a "
                          f"cluster of your own); this run is on {platform} (provider {lb}): leave "
                          f"{'them' if len(given) > 1 else 'it'} out or add --platform=existing")


def _without_option(name: str, default: str, ini: Callable[[str], object]) -> str:
    """What leaving ``--name`` out would give, said with its source: the environment variable's or the ini key's
    value, else ``default``."""
    env_name, ini_name = FALLBACKS[name]
    if os.environ.get(env_name):
        return f"{env_name}={_short(os.environ[env_name])} is used"
    raw = ini(ini_name)
    return f"ini {ini_name}={_short(str(raw))} is used" if raw not in (None, "", []) else default


def _kind_image(given: object) -> str | None:
    """``--kind-image`` as a Docker image reference (``[registry[:port]/]name[:tag][@sha256:…]``), or one line:
    it becomes an argument of ``kind create cluster``, so nothing else (spaces, ``;``, a leading ``-``) passes."""
    if given in (None, ""):
        return None
    if not kind.valid_image(str(given)):
        raise ConfigError(f"--kind-image={_short(str(given))} is not a Docker image reference; give "
                          f"[REGISTRY[:PORT]/]NAME[:TAG][@sha256:DIGEST] (lower-case name, no spaces), "
                          f"e.g. {kind.NODE_IMAGE.split('@')[0]}")
    return str(given)


def _check_spec_for_implementation(spec: ProviderSpec, platform: str) -> None:
    """What the spec's implementation needs from it: modes it can run and the settings it reads without a
    default (a spec of your own, or one replacing a built-in, may lack them): one line, before anything starts."""
    runs = implementations.MODES.get(spec.implementation, {}).get(platform, ())
    needs = implementations.NEEDS.get(spec.implementation, ())
    where = f"provider spec {spec.source}" if spec.source else f"provider {spec.name}"
    unknown = [m for m in spec.accepted_modes(platform) if runs and m not in runs]
    if unknown:
        raise ConfigError(f"{where}: modes {', '.join(_clip(m) for m in unknown)} on {platform}: implementation "
                          f"{spec.implementation} cannot run them; it runs: {', '.join(runs)}")
    missing = [] if spec.kubernetes is not None else [key for key in needs if key not in spec.settings]
    if missing:
        raise ConfigError(f"{where}: implementation {spec.implementation} needs settings "
                          f"{', '.join(missing)}; add them (the built-in {spec.implementation} spec shows them)")


def _check_implemented(spec: ProviderSpec, platform: str, where: str) -> None:
    """The spec's implementation must exist on ``platform`` (checked before anything is created)."""
    if (spec.implementation, platform) not in implementations.IMPLEMENTED:
        available = ", ".join(f"{impl} on {plat}" for impl, plat in implementations.IMPLEMENTED)
        raise ConfigError(f"{where}={platform!r}: provider {spec.name} (implementation {spec.implementation}) is not "
                          f"implemented there; available: {available} (a spec names one with provider: NAME)")


def _modes(spec: ProviderSpec, platform: str, wanted: str | None, where: str) -> tuple[str, ...]:
    """The modes to run: ``wanted`` (comma list, each accepted and listed once) or the spec's defaults."""
    supported = spec.accepted_modes(platform)
    if not wanted:
        return spec.modes_on(platform)
    modes = tuple(m.strip() for m in wanted.split(",") if m.strip())
    bad = [m for m in modes if m not in supported]
    twice = sorted({m for m in modes if modes.count(m) > 1})
    if twice and not bad:
        raise ConfigError(f"{where}={_short(wanted)}: {', '.join(twice)} given more than once; "
                          f"each mode runs once, list it once (accepted: {', '.join(supported)})")
    if bad or not modes:
        raise ConfigError(f"{where}={_short(wanted)}: {_clip(', '.join(bad)) or 'empty'} not supported by {spec.name} on "
                          f"{platform}; accepted: {', '.join(supported)} (comma-separated)")
    return modes


def _check_flags(option: Callable[[str], object], platform: str, lb: str) -> None:
    """Flags that contradict each other or the platform."""
    if option("plan") and option("keep"):
        raise ConfigError("--keep with --plan: --plan creates nothing, so there is nothing to keep; use one of them")
    if option("plan") and option("collectonly"):
        raise ConfigError("--collect-only with --plan: --plan prints what a run would create and stops before "
                          "collecting; use --plan for the plan or --collect-only for the checks, not both")
    kind_only = [f"--{name.replace('_', '-')}" for name in ("kind_image", "preload_images", "reuse_clusters")
                 if option(name)]
    if kind_only and platform != "kind":
        raise ConfigError(f"{', '.join(kind_only)} only apply on --platform=kind; this run is on {platform} "
                          f"(provider {lb}): leave {'them' if len(kind_only) > 1 else 'it'} out")


#: where a report directory may not be: kernel interfaces, not storage
FORBIDDEN_REPORT_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))
MAX_PATH = 4096  #: Linux PATH_MAX
MAX_NAME = 255   #: Linux NAME_MAX


def checked_report_dir(given: str | None, where: str, rootdir: Path, create: bool = True) -> Path:
    """The report directory, created now (unless ``create`` is false: ``--plan`` creates nothing), or one
    line saying why it cannot be.

    Default ``reports/`` in the project's root; a path the user gives is read as a shell would (``~``
    expanded, relative to the current directory)."""
    if given is None:
        path = rootdir / "reports"
    else:
        path = Path(os.path.expanduser(given))
        if not path.is_absolute():
            path = Path.cwd() / path
    accepted = "a writable directory path (created if missing)"
    if len(str(path)) > MAX_PATH or any(len(part) > MAX_NAME for part in path.parts):
        raise ConfigError(f"{where}={_short(given)}: the path is too long (at most {MAX_PATH} characters, "
                          f"{MAX_NAME} per name); give {accepted}")
    resolved = path.resolve()
    if any(resolved == root or root in resolved.parents for root in FORBIDDEN_REPORT_ROOTS):
        raise ConfigError(f"{where}={_short(given)}: {resolved} is a kernel interface, not storage; give {accepted}")
    if resolved.exists() and not resolved.is_dir():
        raise ConfigError(f"{where}={_short(given)}: {resolved} exists and is not a directory; give {accepted}")
    if not create:
        return path
    try:
        resolved.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{where}={_short(given)}: cannot create {resolved} ({exc.strerror}); give {accepted}") from exc
    if not os.access(resolved, os.W_OK | os.X_OK):
        raise ConfigError(f"{where}={_short(given)}: {resolved} is not writable; give {accepted}")
    return path


def _short(text: str | None, limit: int = 80) -> str:
    return shown(text, limit)


def _clip(text: str, limit: int = 80) -> str:
    """``text`` unquoted, cut at ``limit`` characters (a part of a value already shown by :func:`_short`)."""
    return text if len(text) <= limit else text[:limit] + "…"


def _check_mutant(mutant: str | None, lb: str, platform: str, where: str = "--lab-mutant") -> str | None:
    if not mutant:
        return None
    if mutant not in MUTANTS:
        raise ConfigError(f"{where}={_short(mutant)} is not a known mutant; accepted: {', '.join(MUTANTS)}")
    if lb != "keepalived" or platform != "lab":
        raise ConfigError(f"{where}={_short(mutant)} breaks the reference LB in the lab; it needs "
                          f"--lb=keepalived --platform=lab, not --lb={lb} --platform={platform}")
    return mutant


def valid_budget(value: float) -> bool:
    """A budget is a finite number of seconds, > 0 and ≤ MAX_BUDGET_S (nan, inf and 1e308 are not)."""
    return math.isfinite(value) and 0 < value <= MAX_BUDGET_S


def parse_budgets(text: str | None, where: str = "--failover-budget") -> dict[str, float]:
    """``2.5`` (every fault kind) or ``node-stop=3,agent-kill=1.5`` → {kind or "*": seconds}.

    ``where`` names the value's source in the error (option, environment variable or ini key).
    """
    if not text:
        return {}
    budgets: dict[str, float] = {}
    for part in text.split(","):
        kind, sep, seconds = part.strip().rpartition("=")
        kind = kind if sep else "*"
        value = float(seconds) if SECONDS.fullmatch(seconds.strip()) else math.nan
        if not valid_budget(value) or (kind != "*" and kind not in FAULT_KINDS) or kind in budgets:
            raise ConfigError(f"{where}={_short(text)}: {_short(part.strip())} is not accepted; give SECONDS or "
                              f"KIND=SECONDS, each once, with 0 < SECONDS ≤ {MAX_BUDGET_S:g} (finite, ASCII digits, "
                              f"e.g. 2.5) and KIND one of {', '.join(FAULT_KINDS)}")
        budgets[kind] = value
    return budgets


def from_options(rootdir: Path, **options: object) -> RunConfig:
    """A RunConfig from keyword options (the command line's names), for code outside pytest (bench, tests)."""
    return build(options.get, lambda name: None, rootdir)
