"""VFIO scripts (tests/data/import-vfio), judged by their refusals: this host has no IOMMU (HOST-NOTES).

The script, run under bash with the judge's stubs, has its QEMU refuse each function it cannot
open; the import of it has `vmrun up` refuse in one line, before QEMU, naming the same function.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import tomli_w

from tests import importjudge as judge
from tests.conftest import need_root

pytestmark = pytest.mark.root

CASES = judge.cases(judge.VFIO)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_vfio_script_and_its_import_refuse_the_same_function(case: judge.Case, vm, tmp_path: Path):
    need_root()
    copy = tmp_path / "scripts"
    shutil.copytree(judge.VFIO, copy)
    judge.make_files(case, copy)
    stubs = judge.write_stubs(tmp_path / "stubs")
    env = {
        **os.environ,
        "PATH": f"{stubs}:{os.environ['PATH']}",
        "JUDGE_QMP": str(tmp_path / "qmp.sock"),
        "JUDGE_LOG": str(tmp_path / "qemu-argv.jsonl"),
    }
    ran = subprocess.run(
        ["bash", str(copy / case.script.name)], cwd=copy, env=env, capture_output=True, text=True, timeout=60
    )
    refused = re.findall(r"vfio /sys/bus/pci/devices/([0-9a-f:.]+): no such host device", ran.stderr)
    assert ran.returncode != 0 and refused, ran.stderr

    vm.env["VMRUN_DATA_DIR"] = str(tmp_path / "data")
    out = tmp_path / "imported.toml"
    imp = vm("import", str(copy / case.script.name), "-o", str(out), "--name", "vfio")
    assert imp.returncode == 0, imp.stderr
    profile = tomllib.loads(out.read_text())
    assert [p["host"] for p in profile["pci"]][: len(refused)] == refused
    assert "vfio-pci" not in " ".join(profile.get("extra_args", []))
    profile["accel"] = "tcg"  # as the judge runs every import (this host's KVM hangs stock guests)
    if str(profile.get("cpu", "")).startswith("host"):
        profile["cpu"] = "max" + profile["cpu"][4:]
    out.write_text(tomli_w.dumps(profile))
    up = vm("up", str(out), timeout=60)
    assert up.returncode == 2, up.stderr
    assert up.stderr.splitlines()[-1] == "  hint: lspci -D lists the host's PCI functions", up.stderr
    line = up.stderr.splitlines()[-2]
    assert line == f"vmrun: error: {out}: pci[0].host: no PCI device {refused[0]} on this host", up.stderr
