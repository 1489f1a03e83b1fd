"""The README's provider × capability table is exactly what ``providers/capability_table.py`` renders from the specs."""

from __future__ import annotations

from pytest_lbconform.checks import CAPABILITIES
from pytest_lbconform.providers import capability_table
from pytest_lbconform.providers.spec import builtin_specs
from tests.conftest import ROOT


def test_the_readme_holds_exactly_the_rendered_table():
    section = capability_table.section_of((ROOT / "README.md").read_text())
    assert section is not None, "README lacks the capability-table markers"
    assert section == capability_table.render(), \
        "README's table is stale: python -m pytest_lbconform.providers.capability_table, and paste it"


def test_every_not_supported_entry_is_a_numbered_note_with_its_source():
    specs = builtin_specs()
    table = capability_table.render(specs)
    entries = [(name, n) for name, spec in specs.items() for n in spec.not_supported]
    assert entries
    for name, entry in entries:
        assert f"**{name}**, `{entry.capability}`: " in table and f"<{entry.source}>" in table
    assert sum(line.startswith("| `") for line in table.splitlines()) == len(CAPABILITIES)   # a row per capability
    assert sum(line.count("| no [") for line in table.splitlines()) == len(entries)


def test_a_declared_capability_reads_yes_and_an_unexplained_one_a_dash():
    specs = builtin_specs()
    rows = {line.split(" | ")[0]: line for line in capability_table.render(specs).splitlines() if line.startswith("| `")}
    names = [n for n in capability_table.FIRST if n in specs] + sorted(n for n in specs if n not in capability_table.FIRST)
    for capability in CAPABILITIES:
        cells = rows[f"| `{capability}` ({CAPABILITIES[capability].tier})"].strip(" |").split(" | ")[1:]
        for name, cell in zip(names, cells, strict=True):
            spec = specs[name]
            expected = "yes" if capability in spec.capabilities else "no [" if spec.unsupported(capability) else "–"
            assert cell.startswith(expected), (name, capability, cell)


def test_the_markers_are_required():
    assert capability_table.section_of("no table here") is None
