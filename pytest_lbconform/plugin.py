"""pytest hooks only: options, markers, header, capability skips, session fixtures, report writing."""

from __future__ import annotations

import os
import re
import signal
import sys
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from types import FrameType
from typing import IO

import docker
import pytest

from . import checks, infrastructure, ownership
from . import config as run_config
from .docker_engine import connect, engine_version
from .environment import Environment, LBUnderTest, make_environment
from .errors import ConfigError, EngineUnavailable, InfrastructureError, LbconformError, RestoreError
from .paths import SUITES
from .platforms import existing
from .reaper import remove_session
from .report import allure_files, conformance, evidence, results_dir
from .report.evidence import META, NOT_TESTED, PROPERTY

CFG = pytest.StashKey[run_config.RunConfig]()
RESULTS = pytest.StashKey[list[conformance.CheckResult]]()
ENV = pytest.StashKey[Environment]()
SETUP_ERROR = pytest.StashKey[str]()
#: the Allure results folder this run emptied of its earlier runs' files, and the lock it holds on it
CLAIMED = pytest.StashKey[tuple[Path, IO[str]]]()
ENGINE_DOWN = pytest.StashKey[bool]()  #: the set-up found no engine answering: nothing was created, none to sweep
TAINTED = pytest.StashKey[dict[str, str]]()  #: data-plane mode → why its environment is no longer as set up
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
SESSION_KEY = "lbconform_session"  #: in an xdist worker's workerinput: the controller's ownership token


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lbconform", "bare-metal LoadBalancer conformance (pytest-lbconform)")
    group.addoption("--lb", default=None, metavar="NAME",
                    help="LB provider to certify (default: keepalived, the reference LB in the Docker lab). "
                         "env LBCONFORM_LB, ini lbconform_lb")
    group.addoption("--lb-spec", default=None, metavar="FILE", help="a provider spec YAML of your own")
    group.addoption("--lb-spec-replaces-builtin", action="store_true", default=False,
                    help="let --lb-spec replace the built-in provider of the same name (the report says so)")
    group.addoption("--platform", default=None, metavar="{kind,lab,existing}",
                    help="where the LB runs (default: the provider's own). env LBCONFORM_PLATFORM")
    group.addoption("--proxy-mode", default=None, metavar="MODES",
                    help="comma list of data-plane modes to run (default: all the platform supports; "
                         "lab: random,rr). env LBCONFORM_PROXY_MODE")
    group.addoption("--address-families", default=None, metavar="4|6|4,6",
                    help="IP families to judge: 4, 6 or 4,6 (default: 4,6 in the lab where the host has IPv6, else 4; "
                         "kind: 4). env LBCONFORM_ADDRESS_FAMILIES")
    group.addoption("--keep", action="store_true", default=False,
                    help="leave the environment up after the run for inspection")
    group.addoption("--report-dir", default=None, metavar="DIR",
                    help="where allure-results and conformance.json go (default: reports/). env LBCONFORM_REPORT_DIR")
    group.addoption("--lab-image-source", default=None, metavar="{auto,debootstrap,dockerfile}",
                    help="how to build the lab image when missing (default auto: debootstrap as root, else Dockerfile)")
    group.addoption("--lab-mutant", default=None, metavar="NAME",
                    help="run against the reference LB broken on purpose (see README: mutants). env LBCONFORM_LAB_MUTANT")
    group.addoption("--plan", action="store_true", default=False,
                    help="print the kind configs, commands, manifests and objects a run would apply; create nothing")
    group.addoption("--kind-image", default=None, metavar="IMAGE",
                    help="kind node image (default: the one your kind version ships with)")
    group.addoption("--preload-images", action="store_true", default=False,
                    help="kind load docker-image the backends' image into every node (air-gapped hosts)")
    group.addoption("--reuse-clusters", action="store_true", default=False,
                    help="kind: name clusters lbc-<mode>, reuse one whose config hash matches, and keep them")
    group.addoption("--require-all", action="store_true", default=False,
                    help="a check whose capability the provider does not declare fails instead of skipping")
    group.addoption("--failover-budget", default=None, metavar="SECONDS|KIND=SECONDS,...",
                    help="override the provider spec's failover budgets (e.g. 3 or node-stop=5,agent-kill=2). "
                         "env LBCONFORM_FAILOVER_BUDGET")
    group.addoption("--kubeconfig", default=None, metavar="FILE",
                    help="existing: the kubeconfig of your cluster, read only (default: KUBECONFIG, else "
                         "~/.kube/config, as kubectl). env LBCONFORM_KUBECONFIG")
    group.addoption("--context", default=None, metavar="NAME",
                    help="existing: the kubeconfig context (default: its current-context). env LBCONFORM_CONTEXT")
    group.addoption("--allow-faults", action="store_true", default=False,
                    help="existing: inject faults into your cluster (node and agent faults, a full pool); without it "
                         "those checks are reported as not tested")
    group.addoption("--client-network", default=None, metavar="NAME",
                    help="existing: the Docker network the clients join (default: the nodes' network when the nodes "
                         "are containers of the engine). env LBCONFORM_CLIENT_NETWORK")
    for name, (env, ini) in run_config.FALLBACKS.items():
        parser.addini(ini, f"default for --{name.replace('_', '-')} (env {env} wins)", default=None)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "requires(*capabilities): skip unless the provider declares them all; "
                                       "'{param}' in a capability is filled from the test's parameters")
    config.addinivalue_line("markers", "judges(*check_ids): the registry checks (pytest_lbconform/checks.py) "
                                       "this test produces verdicts for; the first decides its profile")
    config.addinivalue_line("markers", "lbconform_missing(check_id, reason): internal: a core capability is missing")
    config.addinivalue_line("markers", "disturbs(what): the check disturbs a cluster beyond its own objects (e.g. fills "
                                       "the address pool): on --platform=existing only with --allow-faults")
    if not _active(config):  # installed but not asked for: no config, no Docker, no signal handlers
        return
    try:
        cfg = run_config.build(config.getoption, config.getini, Path(str(config.rootpath)),
                               create_report_dir=_runs_suites(config))
    except ConfigError as exc:
        raise pytest.UsageError(printable(str(exc))) from None
    config.stash[CFG] = cfg
    config.stash[RESULTS] = []
    config.pluginmanager.register(_ResultCollector(config.stash[RESULTS]), "lbconform-results")
    workerinput = getattr(config, "workerinput", None)
    if _runs_suites(config) and getattr(config.option, "allure_report_dir", "unset") is None:
        results = cfg.report_dir / "allure-results"
        if workerinput is None and not config.option.collectonly:  # the controller empties it, of its own files only
            try:
                lock = results_dir.claim(cfg.report_dir, results, f"--report-dir={cfg.report_dir}")
            except ConfigError as exc:
                raise pytest.UsageError(printable(str(exc))) from None
            config.stash[CLAIMED] = (results, lock)
        config.option.allure_report_dir = str(results)
        config.option.clean_alluredir = False
    ownership.configure(session=workerinput[SESSION_KEY] if workerinput else ownership.me().token, keep=cfg.keep)
    if workerinput is None:
        signal.signal(signal.SIGTERM, _interrupt)
        signal.signal(signal.SIGHUP, _interrupt)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: object) -> None:
    """xdist (controller): give each worker this run's token, which labels everything the workers create,
    so that the controller removes what a killed worker left (see pytest_sessionfinish)."""
    if ownership.RUN.session:
        node.workerinput[SESSION_KEY] = ownership.RUN.session  # type: ignore[attr-defined]


#: options that make the plugin active outside the suites (their ``dest`` names)
OPTION_DESTS = ("lb", "lb_spec", "lb_spec_replaces_builtin", "platform", "proxy_mode", "keep", "report_dir",
                "lab_image_source", "lab_mutant", "plan", "kind_image", "preload_images", "reuse_clusters",
                "require_all", "failover_budget", "kubeconfig", "context", "allow_faults", "client_network")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """``pytest --lb=…`` from any directory runs the shipped suites, as the design card's usage promises.

    Only when one of the plugin's options is on the command line, no file, directory or node id is named, no ini
    sets ``testpaths``, and the invocation directory holds no tests of its own (a test module or conftest.py there
    or one directory down): a project with tests or testpaths of its own collects those, as pytest does."""
    namespace = early_config.known_args_namespace
    if (namespace.file_or_dir
            or not any(getattr(namespace, dest, None) not in (None, False) for dest in OPTION_DESTS)
            or early_config.getini("testpaths") or _has_own_tests(Path(str(early_config.invocation_params.dir)))):
        return
    args.append(str(SUITES))
    namespace.file_or_dir.append(str(SUITES))  # what the initial conftests are found from


#: test module names pytest collects by default (``python_files``)
TEST_FILES = ("test_*.py", "*_test.py", "conftest.py")


def _has_own_tests(directory: Path) -> bool:
    """``directory`` or one of its subdirectories (not hidden) holds a test module or a conftest.py."""
    try:
        subdirs = [d for d in directory.iterdir() if d.is_dir() and not d.name.startswith(".")]
    except OSError:
        return False
    return any(any(d.glob(pattern)) for d in (directory, *subdirs) for pattern in TEST_FILES)


def _active(config: pytest.Config) -> bool:
    """The plugin works when the suites are run or one of its options is given on the command line;
    otherwise it stays out of the way of unrelated test suites in the same environment (its
    ``LBCONFORM_*`` variables are not even read)."""
    if hasattr(config, "workerinput"):
        return SESSION_KEY in config.workerinput
    return _runs_suites(config) or any(config.getoption(dest, None) not in (None, False) for dest in OPTION_DESTS)


def printable(text: str) -> str:
    """``text`` with control characters escaped (a value typed or read from a file may hold newlines or
    terminal escape sequences; an error line must stay one line and must not drive the terminal)."""
    return CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM and SIGHUP (a closed terminal) behave like Ctrl-C, so fixtures tear the lab down."""
    raise KeyboardInterrupt(f"signal {signum}")


def _runs_suites(config: pytest.Config) -> bool:
    """The run collects the shipped suites (a path in them, or ``--pyargs pytest_lbconform.suites[.test_x]``)."""
    for arg in config.args:
        target = arg.split("::", 1)[0]
        if config.getoption("pyargs", False) and target.split(".")[:2] == ["pytest_lbconform", "suites"]:
            return True
        path = Path(target)
        path = path if path.is_absolute() else Path(str(config.invocation_params.dir)) / path
        if path.resolve() == SUITES or SUITES in path.resolve().parents:
            return True
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """``--plan``: print the plan and stop before collecting anything (runs before pytest_configure)."""
    if not config.getoption("plan", False):
        return None
    from . import plan

    try:
        cfg = run_config.build(config.getoption, config.getini, Path(str(config.rootpath)), create_report_dir=False)
    except ConfigError as exc:
        raise pytest.UsageError(printable(str(exc))) from None

    try:
        client = connect(timeout=5)
    except LbconformError:
        client = None
    try:  # the spec is checked at build; a renderer meeting what it cannot render still says so in one line
        text = plan.render(cfg, client, tests=[str(a) for a in config.args])
    except LbconformError as exc:
        raise pytest.UsageError(printable(str(exc))) from None
    sys.stdout.write(text)
    return 0


def pytest_report_header(config: pytest.Config) -> list[str]:
    if CFG not in config.stash:
        return []
    cfg = config.stash[CFG]
    try:
        engine = f"docker engine {engine_version(connect(timeout=5))} at {existing.engine_address()}"
    except LbconformError as exc:
        engine = f"docker engine unavailable ({exc})"
    lines = [f"lbconform: {cfg.label} ({cfg.spec.project}); {engine}"]
    if cfg.target is not None:  # existing: which cluster, and whether faults may touch it
        lines.append(f"lbconform: cluster context {cfg.target.context} ({cfg.target.server}), kube-proxy "
                     f"{cfg.proxy.note if cfg.proxy else '?'}; faults "
                     + ("allowed (--allow-faults)" if cfg.allow_faults else "not injected (no --allow-faults)"))
    return lines


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "lb" in metafunc.fixturenames and CFG in metafunc.config.stash:
        cfg = metafunc.config.stash[CFG]
        metafunc.parametrize("lb", cfg.modes, indirect=True, scope="session",
                             ids=[f"{cfg.platform}-{m}" for m in cfg.modes])
    given = any(m.args and m.args[0] == "family" for m in metafunc.definition.iter_markers("parametrize"))
    if "family" in metafunc.fixturenames and not given:  # every family is collected; one not judged is skipped
        metafunc.parametrize("family", checks.FAMILIES_IP, ids=[checks.family_id(f) for f in checks.FAMILIES_IP])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Decide per check, from the registry: run, fail (core capability missing), skip (extended
    capability missing, or a profile that does not apply on this platform), and tag each item with
    its profile and tier for the certification report."""
    if CFG not in config.stash:  # inactive: only a judges marker naming an unknown check is an error
        for item in items:
            _judged_checks(item)
        return
    cfg = config.stash[CFG]
    for item in items:
        judged = _judged_checks(item)
        params = getattr(getattr(item, "callspec", None), "params", {})
        wanted = [c.format(**params) for mark in item.iter_markers("requires") for c in mark.args]
        family = params.get("family", 4)
        if family in checks.FAMILY_CAPABILITY and checks.FAMILY_CAPABILITY[family] not in wanted:
            wanted.append(checks.FAMILY_CAPABILITY[family])
        missing = [c for c in wanted if c not in cfg.spec.capabilities]
        if not judged:  # a test outside the registry (e.g. a vendor's own): its capabilities only skip
            if missing:
                reason = missing_capability(cfg, missing)
                item.add_marker(pytest.mark.skip(reason=reason) if not cfg.require_all else
                                pytest.mark.lbconform_missing("", f"{reason} (--require-all)"))
            continue
        primary = checks.CHECKS[judged[0]]
        tier = checks.EXTENDED if (primary.tier == checks.EXTENDED or
                                   any(checks.capability_tier(c) == checks.EXTENDED for c in wanted)) else checks.CORE
        applies = checks.profile_applies(primary.profile, cfg.platform)
        meta = {"checks": list(judged), "profile": primary.profile, "tier": tier, "capabilities": wanted,
                "missing": missing, "applies": applies}
        item.user_properties.append((META, meta))
        judged_family = family in cfg.address_families  # a family the run does not judge is skipped as such
        withheld = None if not applies or missing or not judged_family else _withheld(cfg, item, judged, wanted)
        if not applies or missing or withheld or not judged_family:  # its body, which labels it, will not run
            _allure_labels(item, primary, tier)
        if withheld:  # known at collection: a check the user did not allow on their cluster
            item.user_properties.append((NOT_TESTED, withheld))
            item.add_marker(pytest.mark.skip(reason=f"not tested: {withheld}"))
            continue
        _decide(cfg, item, primary, tier, applies, missing, judged_family, family)


def _decide(cfg: run_config.RunConfig, item: pytest.Item, primary: checks.Check, tier: str, applies: bool,
            missing: list[str], judged_family: bool, family: int) -> None:
    """Mark ``item`` skipped (profile not applicable, extended capability missing, family not judged) or failing
    (core capability missing); leave it alone when it runs."""
    if not applies:
        reason = (f"profile {primary.profile} does not apply on platform {cfg.platform}: "
                  f"{checks.PROFILES[primary.profile].not_applicable}")
        item.add_marker(pytest.mark.skip(reason=reason))
    elif missing:
        reason = missing_capability(cfg, missing)
        if tier == checks.CORE or cfg.require_all:
            why = "a core check cannot be skipped" if tier == checks.CORE else "--require-all"
            item.add_marker(pytest.mark.lbconform_missing(primary.id, f"{reason} ({why})"))
        else:
            item.add_marker(pytest.mark.skip(reason=f"{reason}: extended feature not supported"))
    elif not judged_family:
        item.add_marker(pytest.mark.skip(reason=f"IPv{family} not judged in this run: {cfg.families_why}"))


def fault_kinds(capabilities: list[str]) -> list[str]:
    """The fault kinds a check injects: its ``failover:<kind>`` capabilities (parameters filled)."""
    return [c.split(":", 1)[1] for c in capabilities if c.startswith("failover:")]


def _disturbs(item: pytest.Item) -> str | None:
    mark = item.get_closest_marker("disturbs")
    return str(mark.args[0]) if mark is not None and mark.args else None


def _withheld(cfg: run_config.RunConfig, item: pytest.Item, judged: tuple[str, ...], wanted: list[str],
              reach: existing.Reach | None = None) -> str | None:
    """Why a check is not tested on an existing cluster (None: it runs; always None elsewhere). At collection only
    the opt-in is known; at set-up (``reach`` with the nodes) also what the environment can do."""
    if cfg.platform != "existing":
        return None
    return existing.not_tested(reach or existing.Reach(cfg.allow_faults), needs_client=checks.needs_client(judged),
                               fault_kinds=fault_kinds(wanted), disturbs=_disturbs(item))


@pytest.fixture(autouse=True)
def _lbconform_not_tested(request: pytest.FixtureRequest) -> None:
    """On an existing cluster, a check the environment cannot run (no client on the segment, nodes that are not
    containers of the engine, an engine on another host) is not tested, with its reason: decided once the
    environment is up, before the check's body."""
    if "lb" not in request.fixturenames or CFG not in request.config.stash:
        return
    cfg = request.config.stash[CFG]
    if cfg.platform != "existing":
        return
    meta = next((v for k, v in request.node.user_properties if k == META), None)
    if not meta:
        return
    under_test = request.getfixturevalue("lb")
    reach = getattr(under_test, "reach", None)
    why = _withheld(cfg, request.node, tuple(meta["checks"]), list(meta["capabilities"]), reach)
    if why:
        from .report.evidence import label

        primary = checks.CHECKS[meta["checks"][0]]  # the labels its body would set: Allure shows it under its check
        label(request, checks.FAMILIES.get(primary.family, primary.family), primary.title,
              "critical" if meta["tier"] == checks.CORE else "normal", provider=cfg.spec.name, platform=cfg.platform,
              mode=getattr(under_test, "mode", ""))
        request.node.user_properties.append((NOT_TESTED, why))
        pytest.skip(f"not tested: {why}")


#: a judges marker's placeholders, by IP family: what announces a VIP on the wire, what asks who owns it
FAMILY_WORDS = {4: {"announce": "garp", "neighbour": "arp"}, 6: {"announce": "na", "neighbour": "ndp"}}


def _judged_checks(item: pytest.Item) -> tuple[str, ...]:
    """The registry checks ``item`` judges; ``{announce}`` and ``{neighbour}`` are filled from its IP family."""
    family = getattr(getattr(item, "callspec", None), "params", {}).get("family", 4)
    ids = tuple(i.format(**FAMILY_WORDS[family]) for mark in item.iter_markers("judges") for i in mark.args)
    unknown = [i for i in ids if i not in checks.CHECKS]
    if unknown:
        raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.judges names {unknown}, not in the check registry "
                                f"(pytest_lbconform/checks.py); known: {', '.join(sorted(checks.CHECKS))}")
    return ids


def missing_capability(cfg: run_config.RunConfig, missing: list[str]) -> str:
    """Which capabilities the provider does not declare, and what each means."""
    said = [f"{c} ({checks.CAPABILITIES[c].meaning})" if c in checks.CAPABILITIES else c for c in missing]
    by_design = [n for n in map(cfg.spec.unsupported, missing) if n is not None]
    if by_design and len(by_design) == len(missing):  # every one explained by the spec: say why, with its source
        return "; ".join(f"not supported by design: {n.capability} ({n.reason}; source: {n.source})"
                         for n in by_design)
    return f"provider {cfg.spec.name} does not declare capability {', '.join(said)}"


def _allure_labels(item: pytest.Item, primary: checks.Check, tier: str) -> None:
    """The labels a check's body sets (epic, feature, story, severity), for a check whose body does not run."""
    for label_type, value in (("epic", "LB"), ("feature", checks.FAMILIES.get(primary.family, primary.family)),
                              ("story", primary.title),
                              ("severity", "critical" if tier == checks.CORE else "normal")):
        item.add_marker(pytest.mark.allure_label(value, label_type=label_type))


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A core check the provider cannot run fails; a check in a mode whose environment a fault left broken
    (its undo failed) is inconclusive, not run: it would measure the broken environment, not the LB."""
    if CFG in item.config.stash:
        mode = _mode_of(item)
        reason = item.config.stash.get(TAINTED, {}).get(mode or "")
        if reason:
            raise InfrastructureError(f"the {mode} environment was not restored after an earlier check ({reason})")
    mark = item.get_closest_marker("lbconform_missing")
    if mark is not None:
        check_id, reason = mark.args
        if check_id:  # a registry check: recorded as a failed verdict, so the profile fails (not inconclusive)
            item.user_properties.append((PROPERTY, {"check": check_id, "passed": False, "expected": "the capability "
                                                    "is declared and the check runs", "measured": reason,
                                                    "category": "unsupported core capability", "figures": {}}))
        pytest.fail(f"[unsupported core capability] {check_id or item.name} FAILED: {reason}", pytrace=False)


def _progress(config: pytest.Config) -> Callable[[str], None]:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")

    def emit(message: str) -> None:
        if reporter is None or capture is None:
            print(message, file=sys.stderr, flush=True)
            return
        with capture.global_and_fixture_disabled():
            reporter.write_line(message)

    return emit


@pytest.fixture(scope="session")
def lbconform_config(pytestconfig: pytest.Config) -> run_config.RunConfig:
    """The validated run configuration."""
    if CFG not in pytestconfig.stash:
        pytest.fail("pytest-lbconform is inactive in this run: run its suites, or give one of its options "
                    "(e.g. --lb=keepalived) to use its fixtures", pytrace=False)
    return pytestconfig.stash[CFG]


@pytest.fixture(scope="session")
def lbconform_env(request: pytest.FixtureRequest, pytestconfig: pytest.Config,
                  lbconform_config: run_config.RunConfig) -> Iterator[Environment]:
    """The platform with the provider deployed (expensive: once per session and xdist worker)."""
    progress = _progress(pytestconfig)
    env: Environment | None = None
    try:
        env = make_environment(lbconform_config, _engine_for(lbconform_config, progress), progress)
        pytestconfig.stash[ENV] = env
        env.setup()
    except infrastructure.ERRORS as exc:  # the engine, the image or the cluster failed: one line, run stops
        if env is not None:
            _teardown_or_say(env, lbconform_config, progress)
        message = f"lbconform: cannot set up {lbconform_config.label}: {infrastructure.one_line(exc)}"
        pytestconfig.stash[SETUP_ERROR] = message
        pytestconfig.stash[ENGINE_DOWN] = isinstance(exc, EngineUnavailable) and env is None
        pytest.exit(message, returncode=3)
    except BaseException:  # Ctrl-C or a bug half-way through: remove what was created, then re-raise
        if env is not None:
            _teardown_or_say(env, lbconform_config, progress)
        raise
    try:
        yield env
    finally:
        _teardown_or_say(env, lbconform_config, progress, failed=request.session.testsfailed > 0)


def _engine_for(cfg: run_config.RunConfig, progress: Callable[[str], None]) -> docker.DockerClient | None:
    """The Docker engine of the run. On an existing cluster it only hosts the clients (and node containers): where
    there is none (a local socket that does not exist: no Docker here) the checks that need the API still run, and
    the rest is reported as not tested. A remote engine (ssh://, tcp://) or a socket that does not answer stops the
    set-up in one line."""
    try:
        return connect()
    except EngineUnavailable as exc:
        if cfg.platform != "existing" or not _no_engine_here():  # an engine that exists must answer
            raise
        progress(f"lbconform: {exc}: only the checks through the Kubernetes API run; the rest is not tested")
        return None


def _no_engine_here() -> bool:
    """DOCKER_HOST names no engine but a local socket (or is unset), and that socket file does not exist."""
    host = os.environ.get("DOCKER_HOST", "")
    if host and not host.startswith("unix://"):
        return False
    return not os.path.exists(host.removeprefix("unix://") or "/var/run/docker.sock")


def _teardown_or_say(env: Environment, cfg: run_config.RunConfig, progress: Callable[[str], None],
                     failed: bool = False) -> None:
    """Tear down; when the infrastructure no longer lets us (e.g. the engine is gone), say so in one line."""
    try:
        _teardown_shielded(env, failed=failed)
    except infrastructure.ERRORS as exc:
        progress(f"lbconform: the teardown of {cfg.label} did not complete: {infrastructure.one_line(exc)}; "
                 "the next run removes what is left once this one has ended")


#: signals that end a run; each becomes a KeyboardInterrupt so that fixtures tear down
ENDING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _teardown_shielded(env: Environment, failed: bool = False) -> None:
    """Tear down to the end even when another Ctrl-C, SIGTERM or SIGHUP arrives meanwhile: the signal is
    held, and said, once everything the run created is removed (the run is ending anyway)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        env.teardown(failed=failed)
        return
    held: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: held.append(signum)) for sig in ENDING_SIGNALS}
    try:
        env.teardown(failed=failed)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if held:
        names = ", ".join(signal.Signals(sig).name for sig in held)
        sys.stderr.write(f"lbconform: {names} during teardown: held until the teardown completed\n")


@pytest.fixture(scope="session")
def lb(request: pytest.FixtureRequest, pytestconfig: pytest.Config, lbconform_env: Environment) -> LBUnderTest:
    """The LB under test in one data-plane mode (parametrized by the plugin, ids ``<platform>-<mode>``)."""
    try:
        lb_ = lbconform_env.for_mode(request.param)
        evidence.attach_setup(lb_)
        return lb_
    except infrastructure.ERRORS as exc:  # e.g. kind create failed: one line, the run stops, report inconclusive
        cfg = pytestconfig.stash[CFG]
        message = f"lbconform: cannot set up {cfg.label} in mode {request.param}: {infrastructure.one_line(exc)}"
        pytestconfig.stash[SETUP_ERROR] = message
        pytest.exit(message, returncode=3)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """An infrastructure error inside a check (not a verdict on the LB) is one line, and when the engine
    no longer answers the run stops after this check: every later check would only repeat the error."""
    report: pytest.TestReport = yield
    if CFG not in item.config.stash or call.excinfo is None:
        return report
    under_test = getattr(item, "funcargs", {}).get("lb")
    if call.when == "call" and report.failed and isinstance(under_test, LBUnderTest):
        evidence.attach_failure(under_test)
    note_failed_mode(item, report)
    exc = call.excinfo.value
    if isinstance(exc, infrastructure.ERRORS):
        line = infrastructure.one_line(exc)
        report.longrepr = f"[inconclusive: infrastructure] {call.when} of {item.name}: {line}"
        mode = _mode_of(item)
        if isinstance(exc, RestoreError) and mode is not None:  # later checks of this mode cannot be trusted
            item.config.stash.setdefault(TAINTED, {}).setdefault(mode, f"{item.name}: {line}")
        down = infrastructure.engine_down()
        if down:
            message = (f"lbconform: the Docker engine stopped answering during {item.name} ({down}); "
                       "the checks not run are inconclusive")
            item.config.stash[SETUP_ERROR] = message
            item.session.shouldstop = message
    return report


def note_failed_mode(item: pytest.Item, report: pytest.TestReport) -> None:
    """Tell the environment a check of its mode failed (or errored), so that the mode's cluster logs are exported
    before the cluster goes — also when the next mode's cluster replaces it mid-run."""
    mode = _mode_of(item)
    env = item.config.stash.get(ENV, None)
    mark = getattr(env, "mark_failed", None)
    if report.failed and mode is not None and callable(mark):
        mark(mode)


def _mode_of(item: pytest.Item) -> str | None:
    """The data-plane mode a suite test runs in (the ``lb`` parameter), if it uses the LB."""
    callspec = getattr(item, "callspec", None)
    mode = callspec.params.get("lb") if callspec is not None else None
    return mode if isinstance(mode, str) else None


def _remove_leftovers(config: pytest.Config) -> None:
    """Remove what this run's workers could not: xdist kills a worker still busy 10 s after the run was
    interrupted, before its teardown ends. Everything a worker made carries this run's token."""
    try:
        client = connect(timeout=10)
    except LbconformError:
        return
    removed = remove_session(client, ownership.RUN.session)
    if removed:
        _progress(config)(f"lbconform: removed {len(removed)} objects whose teardown did not finish "
                          f"(a worker ended early): {', '.join(removed)}")


def run_environment(cfg: run_config.RunConfig) -> dict[str, str]:
    """The environment a report states: platform and modes; what upstream says of a mode on its way out (the IPVS
    lane says kube-proxy's IPVS mode is deprecated); on kind the node image of each mode, and whether the clusters are
    dual-stack."""
    env = {"platform": cfg.platform, "modes": ",".join(cfg.modes)}
    notes = [f"{m}: {checks.MODES[m].deprecated}" for m in cfg.modes if m in checks.MODES and checks.MODES[m].deprecated]
    if notes:
        env["mode_notes"] = " | ".join(notes)
    if cfg.platform == "kind":
        from .platforms import kind

        env["node_images"] = ",".join(f"{m}={cfg.kind_image or kind.node_image(m)}" for m in cfg.modes)
        if kind.dual_stack(cfg.address_families):
            env["kind_clusters"] = ("dual-stack: kind ipFamily dual, IPv4 primary; one MetalLB pool with an IPv4 and "
                                    "an IPv6 range; services RequireDualStack")
    if cfg.platform == "existing" and cfg.target is not None:
        env["cluster"] = f"context {cfg.target.context} ({cfg.target.server})"
        if cfg.proxy is not None:
            env["kube_proxy"] = cfg.proxy.note
            if cfg.proxy.strict_arp is False:
                env["strict_arp"] = "off"
        env["faults"] = "allowed (--allow-faults)" if cfg.allow_faults else "not allowed: not injected into the cluster"
        env["docker_engine"] = existing.engine_address()
    return env


class _ResultCollector:
    """Collects suite results for the certification report (logreport hooks get no config)."""

    def __init__(self, results: list[conformance.CheckResult]) -> None:
        self.results = results

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        result = conformance.from_report(report)
        if result is not None:
            self.results.append(result)


@pytest.hookimpl(trylast=True)  # after xdist's own sessionfinish has ended its workers
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if hasattr(config, "workerinput") or CFG not in config.stash:
        return
    if _runs_suites(config) and not config.stash[CFG].keep and not config.stash.get(ENGINE_DOWN, False):
        _remove_leftovers(config)
    results = config.stash.get(RESULTS, [])
    setup_error = config.stash.get(SETUP_ERROR, "")
    if not results and not setup_error:
        return
    cfg = config.stash[CFG]
    env = config.stash.get(ENV, None)
    version = env.version if env is not None else ""
    report = conformance.build(
        results, implementation={"project": cfg.spec.project, "provider": cfg.lb, "version": version,
                                 "organization": cfg.spec.organization, "url": cfg.spec.url,
                                 "contact": list(cfg.spec.contact),
                                 "spec": "built-in" if cfg.spec.builtin else f"custom: {cfg.spec.source}"},
        environment=run_environment(cfg),
        budgets=cfg.budgets_report(), capabilities=sorted(cfg.spec.capabilities), inconclusive_reason=setup_error,
    )
    path = conformance.write(cfg.report_dir, report)
    version = str(report["implementation"]["version"])  # one clean line (the raw banner stays in the report)
    allure_dir = getattr(config.option, "allure_report_dir", None)
    if allure_dir:
        report_name = f"pytest-lbconform: {cfg.lb} on {cfg.platform} ({','.join(cfg.modes)})"
        allure_files.write(Path(allure_dir), {"lb": cfg.lb, "project": cfg.spec.project, "version": version,
                                              **run_environment(cfg)},
                           report_dir=cfg.report_dir, report_name=report_name, run_id=str(report.get("run_id", "")),
                           order=allure_files.build_order(cfg.report_dir / "history.csv"))
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        verdicts = ", ".join(f"{p['name']} {p['result']}" for p in report["profiles"])
        reporter.write_line(f"lbconform: certification report {path} ({verdicts})")


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Record what this run wrote into the Allure results folder (after every writer finished), so that the
    next run removes exactly that."""
    if CLAIMED in config.stash:
        results, lock = config.stash[CLAIMED]
        written = [e["path"].removeprefix(f"{results_dir.EVIDENCE}/") for r in config.stash.get(RESULTS, [])
                   for e in r.evidence if str(e.get("path", "")).startswith(f"{results_dir.EVIDENCE}/")]
        results_dir.seal(config.stash[CFG].report_dir, results, lock, written)
