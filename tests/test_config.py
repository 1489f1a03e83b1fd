"""RunConfig: defaults, fallbacks and one-line errors."""

from pathlib import Path

import pytest

from pytest_lbconform import config
from pytest_lbconform.config import from_options
from pytest_lbconform.errors import ConfigError
from pytest_lbconform.platforms.kind import NODE_IMAGE


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
    ({"lb": "nosuch"}, "accepted: cilium, keepalived, kube-vip, loxilb, metallb, purelb"),
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
    ({"lb": ""}, "--lb='' is empty; accepted: cilium, keepalived, kube-vip, loxilb, metallb, purelb "
                 "(or leave it out: keepalived)"),
    ({"proxy_mode": "random,random"}, "--proxy-mode='random,random': random given more than once"),
    ({"plan": True, "keep": True}, "--keep with --plan: --plan creates nothing"),
    ({"kind_image": "kindest/node:v1.34.11"}, "--kind-image only apply on --platform=kind; this run is on lab"),
    ({"preload_images": True, "reuse_clusters": True}, "--preload-images, --reuse-clusters only apply on --platform=kind"),
])
def test_option_mistakes_are_one_line_before_anything_starts(tmp_path, options, fragment):
    with pytest.raises(ConfigError) as info:
        from_options(tmp_path, **options)
    assert str(info.value).startswith(fragment) and "\n" not in str(info.value)


# -- issue 23: inputs that were accepted, and the boundaries no test pinned --------------------------------------
@pytest.mark.parametrize("text", ["３", "٣", "1_0", "node-stop=３", "３.5"])
def test_a_budget_is_ascii_digits_only(text):
    """float() reads full-width and other Unicode digits and underscores; a budget is typed in ASCII."""
    with pytest.raises(ConfigError, match="ASCII digits") as info:
        make(failover_budget=text)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("text", "seconds"), [("3", 3.0), (".5", 0.5), ("2.", 2.0), ("1e1", 10.0),
                                                ("node-stop=3, agent-kill=0.25", 3.0)])
def test_ascii_budgets_are_read_as_before(text, seconds):
    assert make(failover_budget=text).budget("node-stop") == seconds


def test_the_budget_ceiling_is_120_seconds_exactly():
    """120 s is accepted, anything above refused (a change of config.MAX_BUDGET_S fails here)."""
    assert make(failover_budget="120").budget("node-stop") == 120.0
    assert make(failover_budget="node-stop=120.0").budget("node-stop") == 120.0
    for above in ("120.001", "121", "600"):
        with pytest.raises(ConfigError, match="0 < SECONDS ≤ 120 "):
            make(failover_budget=above)


def test_a_100k_character_value_is_shortened_in_the_message():
    with pytest.raises(ConfigError) as info:
        make(lb="y" * 100_000)
    message = str(info.value)
    assert len(message) < 300 and "(100000 characters) is not a known provider" in message


@pytest.mark.parametrize("options", [{"proxy_mode": "z" * 100_000}, {"failover_budget": "9" * 100_000},
                                     {"lab_mutant": "m" * 100_000}, {"platform": "p" * 100_000},
                                     {"lab_image_source": "s" * 100_000}])
def test_every_echoed_value_is_shortened(options):
    with pytest.raises(ConfigError) as info:
        make(**options)
    assert len(str(info.value)) < 600 and "(100000 characters)" in str(info.value)


@pytest.mark.parametrize(("variable", "ini_line", "hint"), [
    ("LBCONFORM_LB", None, "(or leave it out: LBCONFORM_LB='metallb' is used)"),
    (None, "metallb", "(or leave it out: ini lbconform_lb='metallb' is used)"),
    (None, None, "(or leave it out: keepalived)"),
])
def test_the_empty_lb_hint_names_what_leaving_it_out_gives(tmp_path, monkeypatch, variable, ini_line, hint):
    if variable:
        monkeypatch.setenv(variable, "metallb")
    ini = {"lbconform_lb": ini_line}
    with pytest.raises(ConfigError) as info:
        config.build({"lb": ""}.get, ini.get, tmp_path)
    assert str(info.value).endswith(hint), str(info.value)


def test_plan_with_collect_only_is_one_line():
    """--plan prints the plan and stops before collecting, so --collect-only would be silently ignored."""
    with pytest.raises(ConfigError, match=r"^--collect-only with --plan: --plan prints what a run would create and "
                                          r"stops before collecting; use --plan for the plan or --collect-only"):
        make(plan=True, collectonly=True)


@pytest.mark.parametrize("image", ["--help; touch x", "kindest/node:v1 x", "-kindest/node", "Kindest/Node:v1",
                                   "kindest/node:", "kindest/node@sha256:abc", "$(id)", "a" * 600, "ｋindest/node"])
def test_a_kind_image_must_be_an_image_reference(image):
    with pytest.raises(ConfigError, match=r"^--kind-image=.* is not a Docker image reference; give "
                                          r"\[REGISTRY\[:PORT\]/\]NAME\[:TAG\]\[@sha256:DIGEST\]") as info:
        make(lb="metallb", plan=True, kind_image=image)
    assert len(str(info.value)) < 400


@pytest.mark.parametrize("image", ["kindest/node:v1.31.0", "localhost:5000/kind/node:dev", "node",
                                   "registry.k8s.io/kind/node@sha256:" + "a" * 64, NODE_IMAGE])
def test_a_kind_image_reference_is_accepted_and_kept(image):
    assert make(lb="metallb", plan=True, kind_image=image).kind_image == image


@pytest.mark.parametrize("tag", ["../../evil;x", "v0.16.1; rm -rf /", "main", "v0.16", "v0.16.1/../x", "https://e.vil",
                                 "v０.16.1"])
def test_the_metallb_version_variable_must_be_a_release_tag(monkeypatch, tag):
    monkeypatch.setenv("LBCONFORM_METALLB_VERSION", tag)
    with pytest.raises(ConfigError, match=r"^LBCONFORM_METALLB_VERSION=.* is not a MetalLB release tag; give "
                                          r"vMAJOR\.MINOR\.PATCH \(e\.g\. v0\.16\.1\)"):
        make(lb="metallb", plan=True)


def test_the_metallb_version_variable_is_not_read_for_another_provider(monkeypatch):
    monkeypatch.setenv("LBCONFORM_METALLB_VERSION", "../x")
    assert make().lb == "keepalived"


def _metallb_spec(tmp_path, modes: str = "[iptables]", settings: str = "{version: v0.16.1, manifest: "
                  "'https://raw.githubusercontent.com/metallb/metallb/{version}/config/manifests/metallb-native.yaml'}"):
    path = tmp_path / "metallb.yaml"
    path.write_text(f"name: metallb\nplatforms: [kind]\nmodes: {{kind: {modes}}}\ncapabilities: [arp]\n"
                    f"settings: {settings}\n")
    return str(path)


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"modes": "[bogus]"}, "modes bogus on kind: implementation metallb cannot run them; it runs: iptables, ipvs"),
    ({"settings": "{version: v0.16.1}"}, "implementation metallb needs settings manifest;"),
    ({"settings": "{}"}, "implementation metallb needs settings version, manifest;"),
])
def test_a_spec_replacing_a_builtin_is_checked_for_what_its_implementation_needs(tmp_path, kwargs, fragment):
    """--plan (and a run) used to meet these as a KeyError or ValueError traceback while rendering."""
    with pytest.raises(ConfigError) as info:
        make(lb="metallb", plan=True, lb_spec=_metallb_spec(tmp_path, **kwargs), lb_spec_replaces_builtin=True)
    assert fragment in str(info.value) and str(info.value).startswith("provider spec ")


def test_a_lab_spec_with_a_mode_the_reference_cannot_run_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match="modes ipvs on lab: implementation keepalived cannot run them; it runs: "
                                          "random, rr"):
        make(lb="mine", lb_spec=_spec(tmp_path, "mine", "provider: keepalived\noptional_modes: {lab: [ipvs]}\n"))
