"""RunConfig: defaults, fallbacks and one-line errors."""

from pathlib import Path

import pytest

from pytest_lbconform import config
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
    spec.write_text("name: mylb\nplatforms: [lab]\nmodes: {lab: [random]}\ncapabilities: [arp]\n")
    cfg = make(lb="mylb", lb_spec=str(spec))
    assert cfg.spec.capabilities == {"arp"} and cfg.modes == ("random",)


def test_a_broken_spec_file_names_the_missing_fields(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: bad\n")
    with pytest.raises(ConfigError, match=r"missing field.*platforms"):
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
