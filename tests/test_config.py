"""RunConfig: defaults, fallbacks and one-line errors."""

from pathlib import Path

import pytest

from pytest_lbconform import config
from pytest_lbconform.errors import ConfigError


def make(monkeypatch=None, **options):
    opts = {"lb": None, "platform": None, "proxy_mode": None, "keep": False, "report_dir": None,
            "lab_image_source": None, "lb_spec": None, **options}
    return config.build(opts.__getitem__, lambda name: None, Path("/r"))


def test_defaults_to_reference_lb_in_the_lab_with_all_modes():
    cfg = make()
    assert (cfg.lb, cfg.platform, cfg.modes) == ("keepalived", "lab", ("random", "rr"))
    assert cfg.report_dir == Path("/r/reports")


def test_environment_fills_what_the_command_line_left_empty(monkeypatch):
    monkeypatch.setenv("LBCONFORM_PROXY_MODE", "rr")
    assert make().modes == ("rr",)
    assert make(proxy_mode="random").modes == ("random",)


@pytest.mark.parametrize(("options", "fragment"), [
    ({"lb": "nosuch"}, "accepted: keepalived"),
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
