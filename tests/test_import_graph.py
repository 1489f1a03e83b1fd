"""Registries sit below their users: the package's imports (at the top of a module and inside functions alike) form
no cycle, the configuration and the spec model validate against registries without importing their users lazily, and
each registry matches what implements it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "pytest_lbconform"


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in PACKAGE.rglob("*.py")}


def imports(module: str) -> dict[str, bool]:
    """The package's modules ``module`` imports → whether every such import is lazy (inside a function or class)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    top = set(map(id, tree.body))
    found: dict[str, bool] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            names = [target, *(f"{target}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            if name in MODULES and name != module:
                found[name] = found.get(name, True) and id(node) not in top
    return found


GRAPH = {m: imports(m) for m in MODULES}


def cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    return out


def test_the_reader_sees_relative_lazy_and_package_imports():
    assert GRAPH["pytest_lbconform.environment"]["pytest_lbconform.config"] is False  # top level
    assert GRAPH["pytest_lbconform.plan"]["pytest_lbconform.providers.keepalived"] is True  # inside a function
    assert "pytest_lbconform.providers.metallb" in GRAPH["pytest_lbconform.providers.metallb_kind"]


def test_the_package_has_no_import_cycle():
    assert cycles() == []


@pytest.mark.parametrize(("a", "b"), [("pytest_lbconform.config", "pytest_lbconform.environment"),
                                      ("pytest_lbconform.labels", "pytest_lbconform.ownership")])
def test_these_pairs_no_longer_import_each_other(a, b):
    assert not (b in GRAPH[a] and a in GRAPH[b])


def test_config_and_the_spec_model_import_nothing_lazily():
    """No import inside a function of config.py or spec_model.py: what they validate against is imported at the top
    (registries: checks, implementations, mutants), and environment, faults, mutants' users or kind code never lazily."""
    for module in ("pytest_lbconform.config", "pytest_lbconform.providers.spec_model"):
        lazy = sorted(name for name, is_lazy in GRAPH[module].items() if is_lazy)
        assert lazy == [], f"{module} imports lazily: {lazy}"
    assert "pytest_lbconform.environment" not in GRAPH["pytest_lbconform.config"]
    assert "pytest_lbconform.faults" not in GRAPH["pytest_lbconform.config"]
    assert "pytest_lbconform.faults" not in GRAPH["pytest_lbconform.providers.spec_model"]


def test_the_registries_match_what_implements_them():
    from pytest_lbconform import checks, faults, implementations
    from pytest_lbconform.environment import ENVIRONMENTS
    from pytest_lbconform.plan import PLANS

    assert set(ENVIRONMENTS) == set(implementations.IMPLEMENTED)
    assert set(PLANS) == set(implementations.IMPLEMENTED)
    assert tuple(faults.FAULTS) == checks.FAULT_KINDS
