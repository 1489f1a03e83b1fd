"""Dependencies bounded to what the project's tests cover (audit F7): the kubernetes client is generated anew for
every Kubernetes minor, and 9a7e0c7 allowed any release from 29 on (a fresh install got whatever was newest)."""

from __future__ import annotations

from importlib.metadata import version

import tomllib
from packaging.requirements import Requirement

from tests.conftest import ROOT


def _requirement(name: str) -> Requirement:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return next(r for r in map(Requirement, deps) if r.name == name)


def test_the_kubernetes_client_is_bounded_to_the_release_the_contract_tests_run_on():
    spec = _requirement("kubernetes").specifier
    installed = version("kubernetes")
    assert installed in spec, f"the contract tests ran on {installed}, which {spec} excludes"
    assert any(s.operator == "<" for s in spec), f"no upper bound: {spec}"
    major = int(installed.split(".")[0])
    assert f"{major + 1}.0.0" not in spec and f"{major - 1}.0.0" not in spec  # one generation: the one tested
