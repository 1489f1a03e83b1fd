"""RunConfig: defaults, fallbacks and one-line errors."""

from pathlib import Path

import pytest

from pytest_lbconform import config
from pytest_lbconform.config import from_options
from pytest_lbconform.errors import ConfigError


def make(**options):
    return config.from_options(Path("/r"), **options)


def test_defaults_to_reference_lb_in_the_lab_with_all_modes():
    cfg = make()
    assert (cfg.lb, cfg.platform, cfg.modes) == ("keepalived", "lab", ("random", "rr"))
    assert cfg.report_dir == Path("/r/reports")


def test_environment_fills_what_the_command_line_left_empty(monkeypatch):
    monkeypatch.setenv("LBCONFORM_PROXY_MODE", "rr")
    assert make().modes == ("rr",)
    assert make(proxy_mode="random").modes == ("random",)


@pytest.mark.parametrize(("options", "fragment"), [
    ({"lb": "nosuch"}, "accepted: keepalived, metallb"),
    ({"platform": "kind"}, "it runs on: lab"),
    ({"platform": "moon"}, "not one of kind, lab, existing"),
    ({"proxy_mode": "ipvs"}, "accepted: random, rr"),
    ({"proxy_mode": ","}, "empty"),
    ({"lab_image_source": "ftp"}, "auto, debootstrap, dockerfile"),
])
def test_bad_values_name_the_value_and_what_is_accepted(options, fragment):
    with pytest.raises(ConfigError) as err:
        make(**options)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_a_spec_file_adds_a_provider(tmp_path):
    spec = tmp_path / "mylb.yaml"
    spec.write_text("name: mylb\nprovider: keepalived\nplatforms: [lab]\n"
                    "modes: {lab: [random]}\ncapabilities: [arp]\n")
    cfg = make(lb="mylb", lb_spec=str(spec))
    assert cfg.spec.capabilities == {"arp"} and cfg.modes == ("random",)


def test_a_broken_spec_file_names_the_missing_fields(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: bad\n")
    with pytest.raises(ConfigError, match=r"missing key\(s\) platforms, modes, capabilities$"):
        make(lb_spec=str(spec))


def test_failover_budget_defaults_to_the_spec_and_can_be_overridden():
    assert make().budget("node-stop") == 1.5
    assert make(failover_budget="4").budget("node-stop") == 4.0
    cfg = make(failover_budget="node-stop=3,agent-kill=0.5")
    assert (cfg.budget("node-stop"), cfg.budget("agent-kill"), cfg.budget("node-isolate")) == (3.0, 0.5, 1.5)


@pytest.mark.parametrize("text", ["fast", "node-nap=3", "node-stop=-1", "0"])
def test_bad_failover_budgets_are_one_line(text):
    with pytest.raises(ConfigError, match="SECONDS or KIND=SECONDS") as err:
        make(failover_budget=text)
    assert "\n" not in str(err.value)


def _spec(tmp_path, name: str, extra: str = "") -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\nprovider: keepalived\nplatforms: [lab]\n"
                    f"modes: {{lab: [random]}}\ncapabilities: [arp]\n{extra}")
    return str(path)


def test_a_spec_named_like_a_built_in_provider_cannot_replace_it_silently(tmp_path):
    """A spec named keepalived could relax the reference's budgets and capabilities unnoticed."""
    with pytest.raises(ConfigError) as info:
        from_options(tmp_path, lb_spec=_spec(tmp_path, "keepalived"))
    message = str(info.value)
    assert "name 'keepalived' is a built-in provider's" in message and "--lb-spec-replaces-builtin" in message
    assert "provider: keepalived" in message and "\n" not in message


def test_replacing_a_built_in_spec_needs_the_flag_and_the_run_knows_it_is_custom(tmp_path):
    cfg = from_options(tmp_path, lb_spec=_spec(tmp_path, "keepalived"), lb_spec_replaces_builtin=True)
    assert cfg.spec.source.endswith("keepalived.yaml") and not cfg.spec.builtin
    assert from_options(tmp_path).spec.builtin


def test_a_spec_of_your_own_drives_a_built_in_implementation(tmp_path):
    cfg = from_options(tmp_path, lb="mine", lb_spec=_spec(tmp_path, "mine", "provider: keepalived\n"))
    assert (cfg.lb, cfg.spec.implementation, cfg.spec.builtin) == ("mine", "keepalived", False)


@pytest.mark.parametrize(("given", "fragment"), [
    ("/proc/lbconform", "is a kernel interface, not storage"),
    ("/sys/kernel", "is a kernel interface, not storage"),
    ("x" * 5000, "the path is too long (at most 4096 characters, 255 per name)"),
    ("a/" + "y" * 300, "the path is too long"),
])
def test_a_report_dir_that_cannot_hold_reports_is_one_line_naming_its_source(tmp_path, given, fragment):
    with pytest.raises(ConfigError) as info:
        from_options(tmp_path, report_dir=given)
    message = str(info.value)
    assert message.startswith("ini lbconform_report_dir=") or message.startswith("--report-dir=")
    assert fragment in message and "give a writable directory path" in message and "\n" not in message


def test_a_report_dir_that_is_a_file_is_refused(tmp_path):
    target = tmp_path / "afile"
    target.write_text("mine")
    with pytest.raises(ConfigError, match="exists and is not a directory"):
        from_options(tmp_path, report_dir=str(target))
    assert target.read_text() == "mine"


def test_a_relative_or_home_report_dir_is_read_as_a_shell_would(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert from_options(Path("/nonexistent-root"), report_dir="out/r").report_dir == tmp_path / "out" / "r"
    assert from_options(Path("/nonexistent-root"), report_dir="~/r").report_dir == tmp_path / "home" / "r"
    assert (tmp_path / "out" / "r").is_dir()


def test_report_writers_replace_a_symlink_and_never_write_through_it(tmp_path):
    from pytest_lbconform.report import conformance

    victim = tmp_path / "precious.txt"
    victim.write_text("not yours")
    reports = tmp_path / "reports"
    reports.mkdir()
    for name in ("conformance.json", "conformance.yaml", "conformance.html", "history.csv"):
        (reports / name).symlink_to(victim)
    report = {"date": "2026-11-28", "implementation": {"project": "p", "version": "1"}, "environment": {},
              "profiles": []}
    conformance.write(reports, report)
    assert victim.read_text() == "not yours"
    assert not any((reports / n).is_symlink() for n in ("conformance.json", "conformance.yaml", "conformance.html",
                                                        "history.csv"))
    assert (reports / "history.csv").read_text().startswith("run_id,date,suite_version")


@pytest.mark.parametrize(("variable", "value", "start"), [
    ("LBCONFORM_LB", "nosuch", "LBCONFORM_LB='nosuch' is not a known provider"),
    ("LBCONFORM_PLATFORM", "moon", "LBCONFORM_PLATFORM='moon' is not one of"),
    ("LBCONFORM_PROXY_MODE", "random,bogus", "LBCONFORM_PROXY_MODE='random,bogus': bogus not supported"),
    ("LBCONFORM_LAB_IMAGE_SOURCE", "cloud", "LBCONFORM_LAB_IMAGE_SOURCE='cloud' is not one of"),
    ("LBCONFORM_LAB_MUTANT", "typo", "LBCONFORM_LAB_MUTANT='typo' is not a known mutant"),
    ("LBCONFORM_LB", "bad\x1b[31m\nname", "LBCONFORM_LB='bad\\x1b[31m\\nname' is not a known provider"),
])
def test_an_error_names_the_source_the_value_came_from(tmp_path, monkeypatch, variable, value, start):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as info:
        from_options(tmp_path)
    assert str(info.value).startswith(start) and "\n" not in str(info.value) and "\x1b" not in str(info.value)


@pytest.mark.parametrize(("options", "fragment"), [
    ({"lb": ""}, "--lb='' is empty; accepted: keepalived, metallb (or leave it out: keepalived)"),
    ({"proxy_mode": "random,random"}, "--proxy-mode='random,random': random given more than once"),
    ({"plan": True, "keep": True}, "--keep with --plan: --plan creates nothing"),
    ({"kind_image": "kindest/node:v1.34.11"}, "--kind-image only apply on --platform=kind; this run is on lab"),
    ({"preload_images": True, "reuse_clusters": True}, "--preload-images, --reuse-clusters only apply on --platform=kind"),
])
def test_option_mistakes_are_one_line_before_anything_starts(tmp_path, options, fragment):
    with pytest.raises(ConfigError) as info:
        from_options(tmp_path, **options)
    assert str(info.value).startswith(fragment) and "\n" not in str(info.value)
