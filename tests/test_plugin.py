"""The plugin as a user meets it: options, errors, header, ids, capability skips (pytester)."""

import pytest

from tests.conftest import ROOT

SUITES = str(ROOT / "pytest_lbconform" / "suites")


def test_unknown_provider_is_one_line_with_the_accepted_ones(pytester):
    result = pytester.runpytest_subprocess("--lb=nosuch", SUITES)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines[0] == (
        "ERROR: --lb='nosuch' is not a known provider; accepted: cilium, keepalived, kube-vip, loxilb, metallb, purelb "
        "(or describe yours with --lb-spec FILE.yaml)")
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


@pytest.mark.parametrize(("args", "fragment"), [
    (["--proxy-mode=ipvs"], "accepted: random, rr"),
    (["--platform=kind"], "it runs on: lab"),
])
def test_bad_option_values_are_usage_errors(pytester, args, fragment):
    result = pytester.runpytest_subprocess(*args, SUITES)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert fragment in result.stderr.str() and "Traceback" not in result.stderr.str()


def test_environment_variable_selects_the_modes(pytester, monkeypatch):
    monkeypatch.setenv("LBCONFORM_PROXY_MODE", "rr")
    result = pytester.runpytest_subprocess("--collect-only", "-q", SUITES)
    assert "lab-rr" in result.stdout.str() and "lab-random" not in result.stdout.str()


def test_help_lists_the_option_group(pytester):
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*bare-metal LoadBalancer conformance*", "*--lb=NAME*", "*--proxy-mode=MODES*",
                                 "*--keep*", "*--report-dir=DIR*"])


def test_header_names_lb_platform_modes_and_engine(pytester):
    result = pytester.runpytest_subprocess("--collect-only", "--proxy-mode=random", SUITES)
    result.stdout.fnmatch_lines(["lbconform: lb=keepalived platform=lab modes=random (*); docker engine*"])


def test_ids_read_as_platform_mode_and_service(pytester):
    result = pytester.runpytest_subprocess("--collect-only", "-q", SUITES + "/test_arp_ownership.py")
    result.stdout.fnmatch_lines(["*test_exactly_one_node_answers_arp[[]lab-random-v4-svc1[]]",
                                 "*test_exactly_one_node_answers_arp[[]lab-rr-v6-svc3[]]"])


@pytest.fixture
def noarp_spec(pytester, tmp_path):
    """A provider spec without the ``arp`` capability, and a check that requires it."""
    spec = tmp_path / "noarp.yaml"
    spec.write_text("name: noarp\nprovider: keepalived\nplatforms: [lab]\n"
                    "modes: {lab: [random]}\ncapabilities: [balancing]\n")
    pytester.makepyfile(test_cap="""
        import pytest
        @pytest.mark.requires("arp")
        def test_needs_arp():
            pass
    """)
    return spec


def test_a_missing_capability_skips_a_test_outside_the_registry(pytester, noarp_spec):
    result = pytester.runpytest_subprocess("--lb=noarp", f"--lb-spec={noarp_spec}", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*provider noarp does not declare capability arp*"])


def test_require_all_turns_a_capability_skip_into_a_failure(pytester, noarp_spec):
    result = pytester.runpytest_subprocess("--lb=noarp", f"--lb-spec={noarp_spec}", "--require-all")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*provider noarp does not declare capability arp (one node answers ARP*) (--require-all*"])


def test_a_core_check_cannot_be_skipped_by_leaving_out_its_capability(pytester, noarp_spec):
    pytester.makepyfile(test_core="""
        import pytest
        @pytest.mark.requires("arp")
        @pytest.mark.judges("arp-ownership")
        def test_core_arp():
            pass
    """)
    result = pytester.runpytest_subprocess("--lb=noarp", f"--lb-spec={noarp_spec}", "test_core.py")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*[[]unsupported core capability[]] arp-ownership FAILED: provider noarp does not "
                                 "declare capability arp (one node answers ARP for each VIP) "
                                 "(a core check cannot be skipped)*"])


def test_an_extended_check_skips_with_its_reason(pytester, noarp_spec):
    pytester.makepyfile(test_ext="""
        import pytest
        @pytest.mark.requires("affinity")
        @pytest.mark.judges("affinity-sticky")
        def test_affinity():
            pass
    """)
    result = pytester.runpytest_subprocess("--lb=noarp", f"--lb-spec={noarp_spec}", "-rs", "test_ext.py")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*capability affinity (sessionAffinity ClientIP): extended feature not supported*"])


def test_a_judges_marker_naming_an_unknown_check_is_a_usage_error(pytester):
    pytester.makepyfile(test_typo="""
        import pytest
        @pytest.mark.judges("arp-ownersihp")
        def test_x():
            pass
    """)
    result = pytester.runpytest_subprocess("test_typo.py")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "'arp-ownersihp'], not in the check registry" in result.stderr.str()


@pytest.mark.parametrize("budget", ["nan", "inf", "1e308", "-1", "0", "node-stop=NaN", "node-stop=1,node-stop=2",
                                    "node-stop=abc", "bogus=3"])
def test_a_bad_failover_budget_is_one_line_before_anything_starts(pytester, monkeypatch, budget):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")  # proves nothing was contacted
    result = pytester.runpytest_subprocess("--lb=keepalived", f"--failover-budget={budget}", SUITES)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines[0].startswith(f"ERROR: --failover-budget={budget!r}: "), result.stderr.lines[:2]
    assert "0 < SECONDS ≤ 120" in result.stderr.lines[0]
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_a_bad_budget_from_the_environment_names_the_variable(pytester, monkeypatch):
    monkeypatch.setenv("LBCONFORM_FAILOVER_BUDGET", "inf")
    result = pytester.runpytest_subprocess(SUITES)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines[0].startswith("ERROR: LBCONFORM_FAILOVER_BUDGET='inf': ")


def test_a_spec_budget_that_is_not_finite_is_one_line(pytester, tmp_path):
    spec = tmp_path / "nanbudget.yaml"
    spec.write_text("name: nanb\nprovider: keepalived\nplatforms: [lab]\n"
                    "modes: {lab: [random]}\ncapabilities: [arp]\n"
                    "budgets: {node-stop: .nan}\n")
    result = pytester.runpytest_subprocess(f"--lb-spec={spec}", "--lb=nanb", SUITES)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "budgets.node-stop=nan is not accepted" in result.stderr.lines[0]


def test_metallb_plan_prints_both_modes_without_docker_or_kind(pytester, monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no kind
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")  # no engine either
    result = pytester.runpytest_subprocess("--lb=metallb", "--plan", SUITES)
    assert result.ret == 0, result.stderr.str()
    out = result.stdout.str()
    for fragment in ("mode iptables", "mode ipvs", "kubeProxyMode: ipvs", "strictARP: true",
                     "kind create cluster --name", "--kubeconfig", "metallb-native.yaml", "IPAddressPool",
                     "172.18.255.200-172.18.255.250", "172.18.255.149-172.18.255.199", "kind: L2Advertisement",
                     "externalTrafficPolicy: Local", "sessionAffinity: ClientIP",
                     "mypc: docker network kind, address assigned by Docker", "docker pull traefik/whoami:v1.11.0",
                     "imagePullPolicy: IfNotPresent"):
        assert fragment in out, fragment


def test_metallb_without_kind_on_path_is_one_line(pytester, monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    result = pytester.runpytest_subprocess("--lb=metallb", SUITES)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines[0].startswith("ERROR: --platform=kind needs the kind CLI on PATH")
    assert "https://kind.sigs.k8s.io/docs/user/quick-start/#installation" in result.stderr.lines[0]
    assert "Traceback" not in result.stderr.str()


def test_lab_plan_shows_keepalived_and_nftables(pytester):
    result = pytester.runpytest_subprocess("--plan", SUITES)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*vrrp_version 3*", "*numgen random mod 3*", "*numgen inc mod 3*"])


def test_a_capability_can_name_a_test_parameter(pytester, tmp_path):
    spec = tmp_path / "stoponly.yaml"
    spec.write_text("name: stoponly\nprovider: keepalived\nplatforms: [lab]\n"
                    "modes: {lab: [random]}\ncapabilities: [failover:node-stop]\n"
                    "budgets: {node-stop: 2}\n")
    pytester.makepyfile(test_cap="""
        import pytest
        @pytest.mark.requires("failover:{kind}")
        @pytest.mark.parametrize("kind", ["node-stop", "node-freeze"])
        def test_failover(kind):
            pass
    """)
    result = pytester.runpytest_subprocess("--lb=stoponly", f"--lb-spec={spec}", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*test_cap.py*provider stoponly does not declare capability failover:node-freeze*"])


def test_no_engine_is_one_line_and_an_inconclusive_report_not_an_lb_failure(pytester, monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    result = pytester.runpytest_subprocess(f"--report-dir={tmp_path}", "--proxy-mode=random",
                                           SUITES + "/test_snat.py")
    assert result.ret == 3
    result.stdout.fnmatch_lines(["*lbconform: cannot set up lb=keepalived*no Docker engine answers*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    import json
    report = json.loads((tmp_path / "conformance.json").read_text())
    results = {p["name"]: p["result"] for p in report["profiles"]}
    assert results["SERVICE-TRAFFIC"] == "inconclusive" and "failure" not in results.values()


def test_a_spec_declaring_a_failover_without_its_budget_is_one_line(pytester, tmp_path):
    spec = tmp_path / "nob.yaml"
    spec.write_text("name: nob\nprovider: keepalived\nplatforms: [lab]\n"
                    "modes: {lab: [random]}\ncapabilities: [failover:agent-crash]\n")
    result = pytester.runpytest_subprocess(f"--lb-spec={spec}", "--lb=nob", SUITES)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines[0].endswith("declares failover for agent-crash but gives no budget; "
                                           "add budgets: {agent-crash: SECONDS}")


def test_an_unrelated_test_suite_is_left_alone(pytester, monkeypatch):
    """Installed but not asked for: no header, no Docker contact, and a bad LBCONFORM_* variable is not read."""
    monkeypatch.setenv("LBCONFORM_PROXY_MODE", "no-such-mode")
    monkeypatch.setenv("LBCONFORM_REPORT_DIR", "/proc/not-writable")
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")  # contacting it would say "unavailable" in the header
    pytester.makepyfile(test_mine="def test_mine():\n    assert True\n")
    result = pytester.runpytest_subprocess("-v")
    assert result.ret == pytest.ExitCode.OK
    out = result.stdout.str() + result.stderr.str()
    assert "lbconform:" not in out and "docker" not in out.lower() and "LBCONFORM" not in out
    assert not (pytester.path / "reports").exists()


def test_an_option_of_the_plugin_makes_it_active_outside_the_suites(pytester, monkeypatch):
    monkeypatch.setenv("LBCONFORM_PROXY_MODE", "no-such-mode")
    pytester.makepyfile(test_mine="def test_mine():\n    assert True\n")
    result = pytester.runpytest_subprocess("--lb=keepalived")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "LBCONFORM_PROXY_MODE" in result.stderr.str() and "Traceback" not in result.stderr.str()


def test_the_fixtures_say_how_to_activate_the_plugin(pytester):
    pytester.makepyfile(test_mine="def test_mine(lbconform_config):\n    pass\n")
    result = pytester.runpytest_subprocess()
    result.stdout.fnmatch_lines(["*pytest-lbconform is inactive in this run*--lb=keepalived*"])


def test_a_skipped_check_keeps_its_allure_labels_and_says_what_is_missing(pytester, tmp_path):
    """A check skipped at collection never runs its body (which labels it): the plugin labels it instead."""
    spec = tmp_path / "noaff.yaml"
    spec.write_text("name: noaff\nprovider: keepalived\nplatforms: [lab]\nmodes: {lab: [random]}\n"
                    "capabilities: [arp, garp, owner_report, snat, failover:agent-kill, failover:node-isolate, "
                    "failover:node-stop]\nbudgets: {agent-kill: 2, node-isolate: 2, node-stop: 2}\n")
    results = tmp_path / "allure"
    result = pytester.runpytest_subprocess(f"--lb-spec={spec}", "--lb=noaff", f"--alluredir={results}",
                                           "-k", "affinity and v4", SUITES + "/test_balancing.py")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-2000:]
    import json
    (skipped,) = [json.loads(p.read_text()) for p in results.glob("*-result.json")]
    assert skipped["status"] == "skipped"
    labels = {(x["name"], x["value"]) for x in skipped["labels"]}
    assert {("epic", "LB"), ("feature", "Balancing"), ("severity", "normal")} <= labels, labels
    assert "sessionAffinity ClientIP" in skipped["statusDetails"]["message"]


def test_after_a_failed_undo_the_modes_later_checks_are_inconclusive_and_other_modes_run(pytester, tmp_path):
    """A fault whose undo failed leaves its mode's environment broken: what later checks of that mode would
    measure is the broken lab, not the LB (seen: snat-local failing after node-stop's undo failed)."""
    pytester.makeconftest("""
        import pytest
        @pytest.fixture(scope="session")
        def lb(request):
            return request.param
    """)
    pytester.makepyfile(test_restore="""
        from pytest_lbconform.errors import RestoreError
        def test_a_fault(lb):
            if lb == "random":
                raise RestoreError("undoing node-stop on worker failed: whoami did not start")
        def test_later(lb):
            pass
    """)
    result = pytester.runpytest_subprocess("--lb=keepalived", "--proxy-mode=random,rr", f"--report-dir={tmp_path}")
    result.assert_outcomes(passed=2, failed=1, errors=1)
    result.stdout.fnmatch_lines([  # pytest prints errors before failures
        "*[[]inconclusive: infrastructure[]] setup of test_later[[]lab-random[]]: the random environment was not "
        "restored after an earlier check (test_a_fault[[]lab-random[]]: undoing node-stop*",
        "*[[]inconclusive: infrastructure[]] call of test_a_fault[[]lab-random[]]: undoing node-stop on worker failed*"])
    assert "Traceback" not in result.stdout.str()


# -- `pytest --lb=…` from any directory (the design card's usage) ------------------------------------------------
def test_an_option_of_the_plugin_in_a_directory_without_tests_collects_the_shipped_suites(pytester):
    """Before, the user had to know to add --pyargs pytest_lbconform.suites: pytest collected nothing (exit 5)."""
    result = pytester.runpytest_subprocess("--lb=keepalived", "--collect-only", "-q", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-1000:]
    result.stdout.fnmatch_lines(["*test_arp_ownership.py::test_exactly_one_node_answers_arp[[]lab-random-v4-svc1[]]",
                                 "*test_failover.py::*", "* tests collected in *"])


def test_the_plan_from_a_directory_without_tests_names_the_shipped_suites(pytester, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    result = pytester.runpytest_subprocess("--lb=keepalived", "--plan", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["# plan: lb=keepalived platform=lab modes=random,rr",
                                 f"# checks collected from: {SUITES} (the shipped suites)"])


@pytest.mark.parametrize("where", ["test_mine.py", "tests/test_mine.py", "checks/conftest.py"])
def test_a_directory_with_tests_of_its_own_collects_those(pytester, where):
    (pytester.path / where).parent.mkdir(exist_ok=True)
    (pytester.path / where).write_text("def test_mine():\n    pass\n")
    result = pytester.runpytest_subprocess("--lb=keepalived", "--collect-only", "-q", "-p", "no:cacheprovider")
    assert "test_arp_ownership" not in result.stdout.str()


def test_testpaths_of_the_projects_ini_decide(pytester):
    pytester.makeini("[pytest]\ntestpaths = elsewhere\n")
    (pytester.path / "deeper").mkdir()
    result = pytester.runpytest_subprocess("--lb=keepalived", "--collect-only", "-q", "-p", "no:cacheprovider")
    assert "test_arp_ownership" not in result.stdout.str()


def test_without_an_option_of_the_plugin_nothing_is_collected_from_an_empty_directory(pytester):
    result = pytester.runpytest_subprocess("--collect-only", "-q", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_a_path_given_is_what_is_collected(pytester):
    result = pytester.runpytest_subprocess("--lb=keepalived", "--collect-only", "-q", "-p", "no:cacheprovider",
                                           SUITES + "/test_snat.py")
    assert "test_snat.py" in result.stdout.str() and "test_arp_ownership" not in result.stdout.str()
