"""Bad provider specs: each is one line naming the file, the key, the value and what is accepted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_lbconform.errors import ConfigError
from pytest_lbconform.providers.spec import load_spec

GOOD = ("name: mine\nplatforms: [lab]\nmodes: {lab: [random]}\ncapabilities: [arp]\n")

BAD_TEXT = [
    # wrong types (the old loader turned these into lists/sets of characters)
    ("platforms: lab", "platforms='lab' is not accepted"),
    ("capabilities: arp", "capabilities='arp' is not accepted"),
    ("modes: {lab: random}", "modes.lab='random' is not accepted"),
    ("name: 7", "name=7 is not accepted"),
    ("name: [a]", "name=['a'] is not accepted"),
    ("settings: {advert_int: '0.1'}", "settings.advert_int='0.1' is not accepted"),
    ("budgets: {node-stop: 'fast'}", "budgets.node-stop='fast' is not accepted"),
    # ranges and finiteness
    ("settings: {advert_int: .nan}", "settings.advert_int=nan is not accepted"),
    ("settings: {advert_int: 0}", "settings.advert_int=0 is not accepted"),
    ("settings: {advert_int: 1e9}", "settings.advert_int='1e9' is not accepted"),  # YAML 1.1: a string
    ("settings: {advert_int: 1.0e+9}", "settings.advert_int=1000000000.0 is not accepted"),
    ("settings: {pool_size: 0}", "settings.pool_size=0 is not accepted"),
    ("settings: {pool_size: -5}", "settings.pool_size=-5 is not accepted"),
    ("settings: {backend_port: 70000}", "settings.backend_port=70000 is not accepted"),
    ("budgets: {node-stop: .nan}", "budgets.node-stop=nan is not accepted"),
    ("budgets: {node-stop: .inf}", "budgets.node-stop=inf is not accepted"),
    ("budgets: {node-stop: 0}", "budgets.node-stop=0 is not accepted"),
    ("budgets: {node-stop: 1e308}", "budgets.node-stop='1e308' is not accepted"),
    ("budgets: {node-stop: 1.0e+308}", "budgets.node-stop=1e+308 is not accepted"),
    # unknown keys and typos, with the nearest valid name
    ("capabilites: [arp]", "unknown key 'capabilites'; did you mean 'capabilities'?"),
    ("budget: {node-stop: 1}", "unknown key 'budget'; did you mean 'budgets'?"),
    ("settings: {advert-int: 0.1}", "unknown key 'settings.advert-int'; did you mean 'advert_int'?"),
    ("capabilities: [arpp]", "unknown capability 'arpp'; did you mean 'arp'?"),
    ("budgets: {node-stpo: 1}", "unknown fault kind 'node-stpo'; did you mean 'node-stop'?"),
    ("platforms: [lab, moon]", "platforms.1='moon' is not accepted"),
    # values that would reach generated configs or URLs
    ("settings: {manifest: 'file:///etc/passwd'}", "settings.manifest='file:///etc/passwd' is not accepted"),
    ("settings: {manifest: 'https://x.io/{version.__class__}'}", "settings.manifest="),
    ("settings: {manifest: 'http://example.com/m.yaml'}", "settings.manifest='http://example.com/m.yaml'"),
    ("settings: {namespace: 'kube system'}", "settings.namespace='kube system' is not accepted"),
    ("settings: {backend_image: 'traefik/whoami'}", "settings.backend_image='traefik/whoami' is not accepted"),
    ('name: "ev\\x1bil"', "name='ev\\x1bil' is not accepted"),
    ("project: \"a\\nb\"", "project='a\\nb' is not accepted"),
    # null or empty sections
    ("capabilities:", "capabilities=None is not accepted"),
    ("modes:", "modes=None is not accepted"),
    ("platforms: []", "platforms=[] is not accepted"),
    ("modes: {lab: []}", "modes.lab=[] is not accepted"),
]


def _spec(tmp_path: Path, override: str) -> Path:
    key = override.split(":", 1)[0]
    lines = [line for line in GOOD.splitlines() if not line.startswith(key + ":")]
    path = tmp_path / "spec.yaml"
    path.write_text("\n".join([*lines, override]) + "\n")
    return path


@pytest.mark.parametrize(("override", "fragment"), BAD_TEXT, ids=[o for o, _ in BAD_TEXT])
def test_a_bad_value_is_one_line_naming_the_file_key_value_and_what_is_accepted(tmp_path, override, fragment):
    path = _spec(tmp_path, override)
    with pytest.raises(ConfigError) as info:
        load_spec(path)
    message = str(info.value)
    assert message.startswith(f"provider spec {path}: ") and fragment in message, message
    assert "\n" not in message and "\x1b" not in message


def test_the_good_spec_loads(tmp_path):
    spec = load_spec(_spec(tmp_path, "settings: {advert_int: 1, backend_port: 8080}"))
    assert spec.settings == {"advert_int": 1, "backend_port": 8080} and spec.capabilities == {"arp"}


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path):
    levels = [f"l{i}: &l{i} [*l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}]" for i in range(1, 10)]
    path = tmp_path / "bomb.yaml"
    path.write_text(GOOD + "l0: &l0 [x, x, x, x]\n" + "\n".join(levels) + "\n")
    assert path.stat().st_size < 2000
    with pytest.raises(ConfigError, match="not valid YAML \\(more than 16 YAML aliases\\)"):
        load_spec(path)


@pytest.mark.parametrize(("make", "fragment"), [
    (os.mkfifo, "not a regular file"),  # a FIFO used to hang for ever
    (lambda p: p.mkdir(), "not a regular file"),
    (lambda p: p.write_bytes(b"name: \xff\xfe\n"), "not UTF-8 text (byte 6)"),
    (lambda p: p.write_text("x" * 70000), "70000 bytes; a spec is at most 65536 bytes"),
    (lambda p: p.write_text("[a, b]\n"), "expected a mapping at the top level, not list"),
    (lambda p: p.write_text("name: [unclosed\n"), "not valid YAML"),
    (lambda p: None, "cannot read it (No such file or directory)"),
])
def test_a_file_that_is_not_a_spec_is_one_line(tmp_path, make, fragment):
    path = tmp_path / "spec.yaml"
    make(path)
    with pytest.raises(ConfigError, match=None) as info:
        load_spec(path)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_dev_zero_is_not_read(tmp_path):
    with pytest.raises(ConfigError, match="not a regular file"):
        load_spec(Path("/dev/zero"))


def test_modes_for_a_platform_the_spec_does_not_list_are_refused(tmp_path):
    path = _spec(tmp_path, "modes: {lab: [random], kind: [iptables]}")
    with pytest.raises(ConfigError, match="modes/default_platform name kind, which platforms does not list"):
        load_spec(path)


def test_a_misspelt_key_is_named_before_the_key_it_leaves_missing(tmp_path):
    """``capabilites:`` instead of ``capabilities:`` was reported as "missing key(s) capabilities" only."""
    path = tmp_path / "spec.yaml"
    path.write_text(GOOD.replace("capabilities:", "capabilites:"))
    with pytest.raises(ConfigError) as info:
        load_spec(path)
    message = str(info.value)
    assert message.startswith(f"provider spec {path}: unknown key 'capabilites'; did you mean 'capabilities'? ")
    assert message.endswith("(missing: capabilities)") and "\n" not in message


@pytest.mark.parametrize(("override", "accepted"), [
    ("settings: {advert_int: 10}", True), ("settings: {advert_int: 10.0}", True),
    ("settings: {advert_int: 10.001}", False), ("settings: {advert_int: 11}", False),
    ("settings: {advert_int: 0.01}", True), ("settings: {advert_int: 0.0099}", False),
    ("budgets: {node-stop: 120}", True), ("budgets: {node-stop: 120.0}", True),
    ("budgets: {node-stop: 120.001}", False), ("budgets: {node-stop: 121}", False),
    ("budgets: {node-stop: 0.001}", True),
])
def test_the_spec_ranges_end_exactly_where_the_readme_says(tmp_path, override, accepted):
    """advert_int 0.01–10 s, budgets 0 < s ≤ 120 (a change of either limit in spec_model fails here)."""
    path = _spec(tmp_path, override)
    if accepted:
        load_spec(path)
        return
    with pytest.raises(ConfigError, match=r"is not accepted: Input should be (less|greater) than or equal to"):
        load_spec(path)
