"""The bad-input catalogue: every entry goes through pytest's command line as a user types it (options,
environment variables, ini, spec files, report directories, flag combinations) and must give one clear
line that names where the value came from, exit 4 (usage error), no traceback, and leave nothing behind:
no container or network, no report directory, no file in the working directory.

The runs are in-process (pytester) to keep 128 entries fast; the same path in a child process is covered by
tests/test_plugin.py. README ("Bad input, counted") shows the count per class and the total; ``test_readme_counts_
what_the_catalogue_replays`` reads that table, so it cannot drift from the catalogue.

No entry needs a Docker engine: one is used only to check that nothing was created. Without an engine that part
is left out and the rest still runs; under CI=true an engine is required, as for every Docker test.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import docker
import pytest

from pytest_lbconform.config import is_ci
from pytest_lbconform.docker_engine import connect
from pytest_lbconform.errors import EngineUnavailable
from pytest_lbconform.paths import SUITES
from tests.conftest import ROOT, created_by
from tests.test_kube_spec import KUBE_BAD, kube_spec_text
from tests.test_spec_model import BAD_TEXT, GOOD


@dataclass(frozen=True)
class Bad:
    cls: str                     #: the class in README's table
    id: str
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    ini: str = ""                #: lines of a [pytest] section
    spec: str | None = None      #: a spec file's text, passed as --lb-spec {spec}
    kubeconfig: str | None = None  #: a kubeconfig's text, written to {kubeconfig}; {api}: an API double's address
    fragment: str = ""           #: must appear in the one line (names the source and the value)


def _spec_override(override: str) -> str:
    key = override.split(":", 1)[0]
    return "\n".join([*(line for line in GOOD.splitlines() if not line.startswith(key + ":")), override]) + "\n"


LONG = "x" * 5000
METALLB_SPEC = ("name: metallb\nplatforms: [kind]\nmodes: {kind: [iptables]}\ncapabilities: [arp]\n"
                "settings: {version: v0.16.1, manifest: 'https://raw.githubusercontent.com/metallb/metallb/{version}/"
                "config/manifests/metallb-native.yaml'}\n")
CATALOGUE: list[Bad] = [
    # -- options ---------------------------------------------------------------------------------------
    Bad("option", "lb-unknown", ("--lb=nosuch",), fragment="--lb='nosuch' is not a known provider"),
    Bad("option", "lb-empty", ("--lb=",), fragment="--lb='' is empty"),
    Bad("option", "lb-case", ("--lb=KEEPALIVED",), fragment="--lb='KEEPALIVED' is not a known provider"),
    Bad("option", "lb-space", ("--lb= keepalived",), fragment="--lb=' keepalived' is not a known provider"),
    Bad("option", "lb-ansi", ("--lb=\x1b[31mred",), fragment="--lb='\\x1b[31mred' is not a known provider"),
    Bad("option", "platform-unknown", ("--platform=moon",), fragment="--platform='moon' is not one of"),
    Bad("option", "platform-unsupported", ("--platform=kind",), fragment="--platform='kind' is not supported"),
    Bad("option", "platform-existing", ("--platform=existing",), fragment="--platform='existing' is not supported"),
    Bad("option", "metallb-on-lab", ("--lb=metallb", "--platform=lab"), fragment="--platform='lab' is not supported"),
    Bad("option", "mode-unknown", ("--proxy-mode=ipvs",), fragment="--proxy-mode='ipvs': ipvs not supported"),
    Bad("option", "mode-empty-list", ("--proxy-mode=,",), fragment="--proxy-mode=',': empty"),
    Bad("option", "mode-twice", ("--proxy-mode=random,random",), fragment="random given more than once"),
    Bad("option", "mode-shell", ("--proxy-mode=random;rm -rf /",), fragment="--proxy-mode='random;rm -rf /'"),
    Bad("option", "mode-newline", ("--proxy-mode=rr\nrandom",), fragment="--proxy-mode='rr\\nrandom'"),
    Bad("option", "image-source", ("--lab-image-source=ftp",), fragment="--lab-image-source='ftp' is not one of"),
    Bad("option", "mutant-unknown", ("--lab-mutant=nosuch",), fragment="--lab-mutant"),
    Bad("option", "mutant-on-metallb", ("--lb=metallb", "--lab-mutant=lossy"), fragment="--lab-mutant"),
    Bad("option", "plan-keep", ("--plan", "--keep"), fragment="--keep with --plan"),
    Bad("option", "families-unknown", ("--address-families=5",), fragment="--address-families='5' is not a list of IP "
        "families; accepted: 4, 6 or 4,6"),
    Bad("option", "families-twice", ("--address-families=4,4",), fragment="--address-families='4,4' is not a list"),
    Bad("option", "families-words", ("--address-families=ipv6",), fragment="--address-families='ipv6' is not a list"),
    Bad("option", "families-empty-list", ("--address-families=,",), fragment="--address-families=',' is not a list"),
    Bad("option", "kind-image-on-lab", ("--kind-image=kindest/node:v1.34.0",), fragment="--kind-image only apply"),
    Bad("option", "preload-on-lab", ("--preload-images",), fragment="--preload-images only apply"),
    Bad("option", "reuse-on-lab", ("--reuse-clusters",), fragment="--reuse-clusters only apply"),
    Bad("option", "kind-flags-on-lab", ("--preload-images", "--reuse-clusters"), fragment="leave them out"),
    Bad("option", "replaces-builtin-alone", ("--lb-spec-replaces-builtin",), fragment="only applies with --lb-spec"),
    Bad("option", "lb-100k", ("--lb=" + "y" * 100_000,), fragment="…' (100000 characters) is not a known provider"),
    Bad("option", "plan-collect-only", ("--plan", "--collect-only"),
        fragment="--collect-only with --plan: --plan prints what a run"),
    Bad("option", "kind-image-shell", ("--lb=metallb", "--plan", "--kind-image=--help; touch x"),
        fragment="--kind-image='--help; touch x' is not a Docker image reference"),
    Bad("option", "ipv6-on-kind-for-a-spec-lb", ("--lb=kube-vip", "--plan", "--address-families=4,6"),
        fragment="--address-families='4,6' asks for IPv6, but on kind only --lb=metallb has dual-stack lanes"),
    Bad("option", "kind-image-upper-case", ("--lb=metallb", "--kind-image=Kindest/Node:v1.31.0"),
        fragment="--kind-image='Kindest/Node:v1.31.0' is not a Docker image reference"),
    # -- failover budgets -------------------------------------------------------------------------------
    *[Bad("budget", f"budget-{text}", (f"--failover-budget={text}",), fragment="--failover-budget")
      for text in ("nan", "inf", "-inf", "1e308", "-1", "0", "fast", "node-stop=NaN", "node-stop=1,node-stop=2",
                   "node-stop=abc", "bogus=3", "node-stop=", "=3", "3,4", "0x10", "1_000", "３", "1_0")],
    # -- environment variables (each error names the variable) ------------------------------------------
    Bad("env", "env-lb", env={"LBCONFORM_LB": "nosuch"}, fragment="LBCONFORM_LB='nosuch'"),
    Bad("env", "env-platform", env={"LBCONFORM_PLATFORM": "moon"}, fragment="LBCONFORM_PLATFORM='moon'"),
    Bad("env", "env-mode", env={"LBCONFORM_PROXY_MODE": "ipvs"}, fragment="LBCONFORM_PROXY_MODE='ipvs'"),
    Bad("env", "env-mode-twice", env={"LBCONFORM_PROXY_MODE": "rr,rr"}, fragment="LBCONFORM_PROXY_MODE='rr,rr'"),
    Bad("env", "env-families", env={"LBCONFORM_ADDRESS_FAMILIES": "v6"}, fragment="LBCONFORM_ADDRESS_FAMILIES='v6'"),
    Bad("env", "env-image", env={"LBCONFORM_LAB_IMAGE_SOURCE": "ftp"}, fragment="LBCONFORM_LAB_IMAGE_SOURCE='ftp'"),
    Bad("env", "env-budget-nan", env={"LBCONFORM_FAILOVER_BUDGET": "nan"}, fragment="LBCONFORM_FAILOVER_BUDGET"),
    Bad("env", "env-budget-kind", env={"LBCONFORM_FAILOVER_BUDGET": "nap=1"}, fragment="LBCONFORM_FAILOVER_BUDGET"),
    Bad("env", "env-ipv6-on-kind-for-a-spec-lb", ("--lb=cilium", "--plan"), env={"LBCONFORM_ADDRESS_FAMILIES": "6"},
        fragment="LBCONFORM_ADDRESS_FAMILIES='6' asks for IPv6, but on kind only --lb=metallb"),
    Bad("env", "env-mutant", env={"LBCONFORM_LAB_MUTANT": "nosuch"}, fragment="LBCONFORM_LAB_MUTANT"),
    Bad("env", "env-report-proc", env={"LBCONFORM_REPORT_DIR": "/proc/lbc"}, fragment="LBCONFORM_REPORT_DIR="),
    Bad("env", "env-report-file", env={"LBCONFORM_REPORT_DIR": "/etc/hostname"}, fragment="LBCONFORM_REPORT_DIR="),
    Bad("env", "env-metallb-version", ("--lb=metallb",), env={"LBCONFORM_METALLB_VERSION": "../../x;id"},
        fragment="LBCONFORM_METALLB_VERSION='../../x;id' is not a MetalLB release tag"),
    Bad("env", "env-lb-empty-option-hint", ("--lb=",), env={"LBCONFORM_LB": "metallb"},
        fragment="(or leave it out: LBCONFORM_LB='metallb' is used)"),
    # -- ini (each error names the ini key) ---------------------------------------------------------------
    Bad("ini", "ini-lb", ini="lbconform_lb = nosuch", fragment="ini lbconform_lb='nosuch'"),
    Bad("ini", "ini-platform", ini="lbconform_platform = moon", fragment="ini lbconform_platform='moon'"),
    Bad("ini", "ini-mode", ini="lbconform_proxy_mode = ipvs", fragment="ini lbconform_proxy_mode='ipvs'"),
    Bad("ini", "ini-budget", ini="lbconform_failover_budget = inf", fragment="ini lbconform_failover_budget"),
    Bad("ini", "ini-mutant", ini="lbconform_lab_mutant = nosuch", fragment="ini lbconform_lab_mutant"),
    Bad("ini", "ini-families", ini="lbconform_address_families = 4 6", fragment="ini lbconform_address_families='4 6'"),
    Bad("ini", "ini-report", ini="lbconform_report_dir = /sys/lbc", fragment="ini lbconform_report_dir="),
    Bad("ini", "ini-lb-empty-option-hint", ("--lb=",), ini="lbconform_lb = metallb",
        fragment="(or leave it out: ini lbconform_lb='metallb' is used)"),
    # -- report directories -------------------------------------------------------------------------------
    Bad("report-dir", "report-is-file", ("--report-dir=/etc/hostname",), fragment="exists and is not a directory"),
    Bad("report-dir", "report-in-proc", ("--report-dir=/proc/self/lbc",), fragment="kernel interface"),
    Bad("report-dir", "report-in-sys", ("--report-dir=/sys/lbc",), fragment="kernel interface"),
    Bad("report-dir", "report-in-dev", ("--report-dir=/dev/lbc",), fragment="kernel interface"),
    Bad("report-dir", "report-5000", (f"--report-dir=/tmp/{LONG}",), fragment="the path is too long"),
    Bad("report-dir", "report-name-300", (f"--report-dir=/tmp/{'y' * 300}",), fragment="the path is too long"),
    Bad("report-dir", "report-under-file", ("--report-dir=/etc/hostname/reports",), fragment="cannot create"),
    # -- provider specs: files that are not specs -------------------------------------------------------
    Bad("spec-file", "spec-missing", ("--lb-spec={tmp}/nosuch.yaml",), fragment="cannot read it"),
    Bad("spec-file", "spec-dev-zero", ("--lb-spec=/dev/zero",), fragment="not a regular file"),
    Bad("spec-file", "spec-directory", ("--lb-spec={tmp}",), fragment="not a regular file"),
    Bad("spec-file", "spec-fifo", ("--lb-spec={tmp}/fifo",), fragment="not a regular file"),
    Bad("spec-file", "spec-not-utf8", spec="name: \udcff\n", fragment="not UTF-8 text"),
    Bad("spec-file", "spec-too-big", spec="# " + "x" * 70000 + "\n", fragment="a spec is at most 65536 bytes"),
    Bad("spec-file", "spec-a-list", spec="[a, b]\n", fragment="expected a mapping at the top level"),
    Bad("spec-file", "spec-empty", spec="", fragment="expected a mapping at the top level, not NoneType"),
    Bad("spec-file", "spec-bad-yaml", spec="name: [unclosed\n", fragment="not valid YAML"),
    Bad("spec-file", "spec-alias-bomb", spec=GOOD + "l0: &l0 [x, x, x, x]\n" + "\n".join(
        f"l{i}: &l{i} [*l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}]" for i in range(1, 10)) + "\n",
        fragment="more than 16 YAML aliases"),
    Bad("spec-file", "spec-missing-keys", spec="name: bad\n", fragment="missing key(s) platforms, modes, capabilities"),
    Bad("spec-file", "spec-python-tag", spec="name: !!python/object/apply:os.system ['id']\n", fragment="not valid YAML"),
    # -- provider specs: what they say (types, ranges, unknown keys, values reaching configs) -------------
    *[Bad("spec-value", f"spec-{override}", spec=_spec_override(override), fragment=fragment)
      for override, fragment in BAD_TEXT],
    Bad("spec-value", "spec-shadows-builtin", spec=GOOD.replace("name: mine", "name: keepalived"),
        fragment="is a built-in provider's"),
    Bad("spec-value", "spec-unimplemented-pair",
        spec="name: mine\nprovider: keepalived\nplatforms: [kind]\nmodes: {kind: [iptables]}\ncapabilities: [arp]\n",
        fragment="is not implemented there"),
    Bad("spec-value", "spec-existing-platform",
        spec="name: mine\nplatforms: [existing]\nmodes: {existing: [iptables]}\ncapabilities: [arp]\n",
        fragment="is not implemented there"),
    Bad("spec-value", "spec-mode-not-run", ("--proxy-mode=rr",), spec=GOOD + "provider: keepalived\n",
        fragment="--proxy-mode='rr': rr not supported"),
    Bad("spec-value", "spec-no-implementation", spec=GOOD, fragment="provider mine (implementation mine) is not "
        "implemented there"),
    Bad("spec-value", "spec-misspelt-key-replacing-one", spec=GOOD.replace("capabilities:", "capabilites:"),
        fragment="unknown key 'capabilites'; did you mean 'capabilities'?"),
    Bad("spec-value", "spec-mode-the-lab-cannot-run", spec=GOOD.replace("[random]", "[ipvs]") + "provider: keepalived\n",
        fragment="modes ipvs on lab: implementation keepalived cannot run them"),
    Bad("spec-value", "replaces-builtin-bad-mode-plan", ("--lb=metallb", "--lb-spec-replaces-builtin", "--plan"),
        spec=METALLB_SPEC.replace("[iptables]", "[bogus]"),
        fragment="modes bogus on kind: implementation metallb cannot run them"),
    Bad("spec-value", "replaces-builtin-no-manifest-plan", ("--lb=metallb", "--lb-spec-replaces-builtin", "--plan"),
        spec=METALLB_SPEC.split("settings:", maxsplit=1)[0] + "settings: {version: v0.16.1}\n",
        fragment="implementation metallb needs settings manifest"),
    # -- a spec's kubernetes: section (a declarative Kubernetes L2 LB) ------------------------------------------
    *[Bad("spec-kubernetes", f"kube-{change[:50]}", spec=kube_spec_text(change), fragment=fragment)
      for change, fragment in KUBE_BAD],
    Bad("spec-kubernetes", "kube-l2-platform-not-listed", ("--platform=existing",), spec=kube_spec_text("project: x"),
        fragment="--platform='existing' is not supported by provider mine; it runs on: kind"),
    Bad("spec-kubernetes", "kube-helm-missing", env={"PATH": "/nonexistent-bin"},
        spec=kube_spec_text("kubernetes.install.helm: {repo: 'https://charts.example.com', chart: lb, version: 1.0.0, "
                            "release: lb, namespace: lb}"), fragment="helm is needed on PATH"),
    # -- a cluster of your own (--platform=existing) ------------------------------------------------------
    Bad("existing", "kubeconfig-on-lab", ("--kubeconfig=/x",), fragment="--kubeconfig only applies on --platform=existing"),
    Bad("existing", "context-on-kind", ("--lb=metallb", "--plan", "--context=kind-x"),
        fragment="--context only applies on --platform=existing (a cluster of your own); this run is on kind"),
    Bad("existing", "allow-faults-on-lab", ("--allow-faults",), fragment="--allow-faults only applies"),
    Bad("existing", "client-network-on-lab", ("--client-network=kind",), fragment="--client-network only applies"),
    Bad("existing", "env-context-on-lab", env={"LBCONFORM_CONTEXT": "prod"}, fragment="LBCONFORM_CONTEXT only applies"),
    Bad("existing", "ini-kubeconfig-on-lab", ini="lbconform_kubeconfig = /x",
        fragment="ini lbconform_kubeconfig only applies"),
    Bad("existing", "kubeconfig-missing", ("--lb=metallb", "--platform=existing", "--kubeconfig={tmp}/nosuch"),
        fragment="cannot read it (No such file or directory)"),
    Bad("existing", "kubeconfig-directory", ("--lb=metallb", "--platform=existing", "--kubeconfig={tmp}"),
        fragment="not a regular file"),
    Bad("existing", "kubeconfig-not-one", ("--lb=metallb", "--platform=existing", "--kubeconfig=/etc/hostname"),
        fragment="--kubeconfig='/etc/hostname': not a kubeconfig"),
    Bad("existing", "env-kubeconfig-missing", ("--lb=metallb", "--platform=existing"),
        env={"KUBECONFIG": "/nonexistent/kubeconfig"}, fragment="KUBECONFIG='/nonexistent/kubeconfig': cannot read it"),
    Bad("existing", "context-unknown", ("--lb=metallb", "--platform=existing", "--kubeconfig={kubeconfig}",
                                        "--context=nosuch"),
        kubeconfig="https://127.0.0.1:6443", fragment="--context='nosuch' is not a context of"),
    Bad("existing", "api-unreachable", ("--lb=metallb", "--platform=existing", "--kubeconfig={kubeconfig}"),
        kubeconfig="http://127.0.0.1:9", fragment="(http://127.0.0.1:9) did not answer"),
    Bad("existing", "client-network-name", ("--lb=metallb", "--platform=existing", "--client-network=a;rm -rf /"),
        fragment="--client-network='a;rm -rf /' is not a Docker network name"),
    Bad("existing", "ipv6-on-existing", ("--lb=metallb", "--platform=existing", "--address-families=4,6"),
        fragment="--address-families='4,6' asks for IPv6, but on --platform=existing the run's services are IPv4 only"),
    Bad("existing", "two-modes", ("--lb=metallb", "--platform=existing", "--proxy-mode=iptables,ipvs"),
        fragment="on --platform=existing one mode runs, the cluster's"),
    Bad("existing", "mode-not-the-clusters", ("--lb=metallb", "--platform=existing", "--kubeconfig={kubeconfig}",
                                              "--proxy-mode=ipvs"),
        kubeconfig="{api}", fragment="--proxy-mode='ipvs', but the cluster's kube-proxy runs iptables"),
]

#: a row of README's table: ``| options (`option`) | 27 | examples |``
README_ROW = re.compile(r"^\| [^|]*\(`(?P<cls>[a-z-]+)`\) \| (?P<count>\d+) \|", re.MULTILINE)
README_TOTAL = re.compile(r"`tests/test_bad_input_catalogue\.py` replays (?P<total>\d+) bad inputs")


def readme_counts(text: str) -> tuple[int, Counter[str]]:
    """README's "Bad input, counted": the total it states, and its table as class → entries."""
    section = text.split("**Bad input, counted.**", 1)[1].split("\n\n**", 1)[0]
    total = README_TOTAL.search(section)
    assert total, "README: the sentence stating how many bad inputs the catalogue replays is missing"
    return int(total["total"]), Counter({m["cls"]: int(m["count"]) for m in README_ROW.finditer(section)})


def test_readme_counts_what_the_catalogue_replays():
    total, table = readme_counts((ROOT / "README.md").read_text())
    assert table == Counter(b.cls for b in CATALOGUE)
    assert total == len(CATALOGUE) == sum(table.values())
    assert len({b.id for b in CATALOGUE}) == len(CATALOGUE), "ids must be unique"


def test_the_readme_reader_sees_a_changed_count():
    """The comparison above is with README, not with a constant: one count changed there is seen."""
    text = (ROOT / "README.md").read_text()
    total, table = readme_counts(text)
    changed = re.sub(r"(\| [^|]*\(`budget`\) \| )(\d+)", lambda m: f"{m[1]}{int(m[2]) + 1}", text)
    assert readme_counts(changed) == (total, table + Counter({"budget": 1}))


@pytest.fixture(scope="module")
def engine() -> docker.DockerClient | None:
    """An engine to check that nothing was created, or None when none answers: the entries themselves need no
    Docker. Under CI=true an engine is required (a green CI that left the check out would prove less)."""
    try:
        return connect(timeout=10)
    except EngineUnavailable as exc:
        if is_ci():
            pytest.fail(f"CI=true and this test needs Docker: {exc}", pytrace=False)
        return None


@pytest.mark.parametrize("bad", CATALOGUE, ids=[b.id for b in CATALOGUE])
def test_bad_input_is_one_line_exit_4_and_leaves_nothing(pytester, monkeypatch, engine, tmp_path, httpserver, bad):
    for name in [n for n in os.environ if n.startswith("LBCONFORM_")] + ["KUBECONFIG"]:
        monkeypatch.delenv(name, raising=False)
    for name, value in bad.env.items():
        monkeypatch.setenv(name, value)
    ini = []
    if bad.ini:  # given with -c: the suites' own directory would otherwise decide the rootdir and its ini
        (tmp_path / "pytest.ini").write_text(f"[pytest]\n{bad.ini}\n")
        ini = ["-c", str(tmp_path / "pytest.ini")]
    os.mkfifo(tmp_path / "fifo")
    args = [a.replace("{tmp}", str(tmp_path)).replace("{kubeconfig}", str(tmp_path / "kubeconfig")) for a in bad.args]
    api = None
    if bad.kubeconfig is not None:  # an existing cluster: a kubeconfig naming a server (an API double's for {api})
        from tests.existing_api_double import ExistingApi, kubeconfig_text, serve
        from tests.metallb_model import Cluster

        server = bad.kubeconfig
        if server == "{api}":
            api = ExistingApi(Cluster())
            server = serve(httpserver, api)
        (tmp_path / "kubeconfig").write_text(kubeconfig_text(server))
    if bad.spec is not None:
        spec = tmp_path / "spec.yaml"
        spec.write_bytes(bad.spec.encode("utf-8", "surrogateescape"))
        args.append(f"--lb-spec={spec}")
    if bad.spec is not None and not any(a.startswith("--lb=") for a in args) and "name: mine" in bad.spec:
        args.append("--lb=mine")
    before = sorted(p.name for p in pytester.path.iterdir())
    collect = [] if "--plan" in args else ["--collect-only"]  # --plan stops before collecting (and refuses it)
    result = pytester.runpytest_inprocess(*args, *ini, "-p", "no:cacheprovider", *collect, "-q", str(SUITES))
    err = result.stderr.str().strip()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, f"{bad.id}: exit {result.ret}; {err[-500:]}"
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ERROR: "), lines
    assert bad.fragment in lines[0], lines[0]
    assert len(lines[0]) < 1000, f"a long value must be shortened: {len(lines[0])} characters"
    assert "\x1b" not in lines[0], "an escape sequence reached the terminal"
    assert "Traceback" not in result.stdout.str() + err and "INTERNALERROR" not in result.stdout.str() + err
    assert sorted(p.name for p in pytester.path.iterdir()) == before, "the run wrote into the working directory"
    assert not Path(tmp_path / "reports").exists()
    if engine is not None:
        assert not created_by(engine, os.getpid())
    if api is not None:
        assert not api.writes, "the cluster was written to"


@pytest.mark.parametrize(("ci", "outcome"), [("", {"passed": 1}), ("true", {"errors": 1})])
def test_the_catalogue_runs_without_an_engine_and_requires_one_under_ci(pytester, monkeypatch, ci, outcome):
    """It used to skip without Docker although no entry needs one; under CI=true a missing engine is still an error."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    monkeypatch.setenv("CI", ci)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--rootdir", str(ROOT), "-c", str(ROOT / "pyproject.toml"), "-o", "addopts=",
        f"{ROOT / 'tests' / 'test_bad_input_catalogue.py'}::test_bad_input_is_one_line_exit_4_and_leaves_nothing"
        "[lb-unknown]")
    result.assert_outcomes(**outcome)
