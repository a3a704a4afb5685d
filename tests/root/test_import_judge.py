"""QEMU as the judge of `vmrun import` (issue 11): each corpus script, run for real, against its import.

Script side: bash runs the script (or its ``.modern.sh``) in a namespace of its
own, its QEMU stubbed to start paused with a QMP socket (tests/importjudge.py).
vmrun side: `vmrun import SCRIPT -- ARGS`, made to start paused on TCG, then
`vmrun up` in the test's namespace and `vmrun qmp`. Equal facts mean imported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import tomli_w

from tests import importjudge as judge
from tests.conftest import Netns, need_root, vmrun_bin

pytestmark = pytest.mark.root

CASES = judge.cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_qemu_judges_the_import_equal(case: judge.Case, vm, tmp_path: Path, bridge_conf: Path):
    copy = corpus_copy(case, tmp_path, bridge_conf)
    script, _ = run_script(case, copy, tmp_path)

    judge.make_host(case, vm.netns)
    vm.env["VMRUN_DATA_DIR"] = str(tmp_path / "data")  # the UEFI variables and swtpm state the import copies
    out = tmp_path / "imported.toml"
    extra = ["--", *case.args] if case.args else []
    imp = vm.netns.run(
        vmrun_bin(),
        "import",
        str(copy / case.script.name),
        "-o",
        str(out),
        *extra,
        env=vm.env,
        cwd=tmp_path,
        timeout=60,
    )
    assert imp.returncode == 0, f"import failed ({imp.returncode}):\n{imp.stderr}"
    profile = tomllib.loads(out.read_text())
    left = [a for a in profile.get("extra_args", []) if a in ("-net", "-nic", "-netdev")]
    assert left == [], f"NIC options left in extra_args: {profile.get('extra_args')}\nnotes:\n{imp.stderr}"
    imported = start_imported(vm, profile, tmp_path)
    assert imported == script, difference(script, imported, imp.stderr)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_script_runs_under_the_judge(case: judge.Case, tmp_path: Path, bridge_conf: Path):
    """The script side alone (no import): its QEMU starts, answers, quits, and the script ends well."""
    copy = corpus_copy(case, tmp_path, bridge_conf)
    facts, rc = run_script(case, copy, tmp_path)
    runs = [json.loads(line) for line in (tmp_path / "qemu-argv.jsonl").read_text().splitlines()]
    assert len(runs) == 1, f"the script ran QEMU {len(runs)} times"
    assert rc == 0, f"the script ended with {rc}:\n{(tmp_path / 'script.log').read_text()}"
    assert facts.pci and facts.memory and facts.cpus


def test_the_judge_sees_what_differs(vm, tmp_path: Path, bridge_conf: Path):
    """Not blind: the import of a tap-on-br0 script, altered by hand, is told apart on every fact altered."""
    case = next(c for c in CASES if c.id == "13-tap-ip-tuntap")
    copy = corpus_copy(case, tmp_path, bridge_conf)
    script, _ = run_script(case, copy, tmp_path)
    judge.make_host(case, vm.netns)
    out = tmp_path / "imported.toml"
    imp = vm.netns.run(vmrun_bin(), "import", str(copy / case.script.name), "-o", str(out), env=vm.env, timeout=60)
    assert imp.returncode == 0, imp.stderr
    profile = tomllib.loads(out.read_text())
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(copy / "other.qcow2"), "64M"], check=True)
    profile.update(memory="1G", smp=3, drives=[{**profile["drives"][0], "file": str(copy / "other.qcow2")}])
    profile["nics"] = [{"id": "net0", "model": "virtio-net-pci", "mac": "52:54:00:00:00:99", "type": "user"}]
    imported = start_imported(vm, profile, tmp_path)
    differ = {key for key in script.__dict__ if getattr(script, key) != getattr(imported, key)}
    assert differ == {"memory", "cpus", "block", "macs", "network", "links"}, difference(script, imported, "")


def test_the_judge_sees_boot_order_and_serial_ports(vm, tmp_path: Path, bridge_conf: Path):
    """Not blind to the keys without a PCI device: a boot menu turned off and a serial port moved are told apart."""
    case = next(c for c in CASES if c.id == "56-debug-serial-gdb")
    copy = corpus_copy(case, tmp_path, bridge_conf)
    script, _ = run_script(case, copy, tmp_path)
    out = tmp_path / "imported.toml"
    imp = vm.netns.run(vmrun_bin(), "import", str(copy / case.script.name), "-o", str(out), env=vm.env, timeout=60)
    assert imp.returncode == 0, imp.stderr
    profile = tomllib.loads(out.read_text())
    profile.update(boot_menu=False, serials=[{**profile["serials"][0], "port": 4556}, profile["serials"][1]])
    imported = start_imported(vm, profile, tmp_path)
    differ = {key for key in script.__dict__ if getattr(script, key) != getattr(imported, key)}
    assert differ == {"boot", "serials"}, difference(script, imported, "")


def corpus_copy(case: judge.Case, tmp_path: Path, bridge_conf: Path) -> Path:
    """The corpus folder in tmp with the case's files made; qemu-bridge-helper allowed every bridge."""
    bridge_conf.parent.mkdir(parents=True, exist_ok=True)
    bridge_conf.write_text("allow all\n")
    copy = tmp_path / "corpus"
    shutil.copytree(judge.CORPUS, copy)
    judge.make_files(case, copy)
    return copy


def run_script(case: judge.Case, copy: Path, tmp_path: Path) -> tuple[judge.Facts, int]:
    """The script's facts and exit status: run in a namespace of its own, its QEMU asked over QMP, then told to quit."""
    need_root()
    sock, log, nodes = tmp_path / "script-qmp.sock", tmp_path / "script.log", tmp_path / "nodes"
    stubs = judge.write_stubs(tmp_path / "stubs")
    env = {
        **os.environ,
        "PATH": f"{stubs}:{os.environ['PATH']}",
        "JUDGE_QMP": str(sock),
        "JUDGE_LOG": str(tmp_path / "qemu-argv.jsonl"),
        "JUDGE_NODES": str(nodes),
    }
    ns = Netns()
    ns.create()
    try:
        judge.make_host(case, ns)
        with log.open("w") as out:
            proc = ns.popen(
                "bash",
                str(copy / case.runs.name),
                *case.args,
                cwd=copy,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            qmp = judge.connect(sock, proc, log)
            try:
                facts = judge.collect(qmp, copy, ns)
                qmp("quit")
            finally:
                qmp.close()
            proc.wait(timeout=15)  # the script's own clean-up runs after its QEMU
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    finally:
        ns.destroy()
        judge.remove_nodes(nodes)
    return facts, proc.returncode


def start_imported(vm, profile: dict, tmp_path: Path) -> judge.Facts:
    """The import's facts: paused on TCG (this machine has no KVM), asked with `vmrun qmp`."""
    profile["extra_args"] = [*profile.get("extra_args", []), "-S"]
    profile["accel"] = "tcg"
    if str(profile.get("cpu", "")).split(",")[0] == "host":
        profile["cpu"] = "max" + profile["cpu"][4:]
    path = tmp_path / "judged.toml"
    path.write_text(tomli_w.dumps(profile))
    name = profile["name"]
    up = vm("up", str(path), timeout=60)
    assert up.returncode == 0, f"vmrun up failed:\n{up.stderr}\nprofile:\n{path.read_text()}"
    try:
        # `vmrun qmp` once (the guest waits, paused, where -S left it); then the same raw client as the
        # script side on vmrun's QMP socket: seven `vmrun qmp` runs cost 2 s a script, the corpus 1 min.
        status = vm("qmp", name, "query-status", timeout=30)
        assert status.returncode == 0, f"vmrun qmp query-status: {status.stderr}"
        assert json.loads(status.stdout)["status"] == "prelaunch", status.stdout
        qmp = judge.RawQmp(vm.runtime_dir / name / "qmp.sock")
        try:
            return judge.collect(qmp, tmp_path, vm.netns)
        finally:
            qmp.close()
    finally:
        vm("down", name, "--force", timeout=60)


def difference(script: judge.Facts, imported: judge.Facts, notes: str) -> str:
    """What differs, fact by fact: for lists, the items only one side has (a moved device shows on both)."""
    lines = ["QEMU sees another machine in the import:"]
    for key in script.__dict__:
        a, b = getattr(script, key), getattr(imported, key)
        if a == b:
            continue
        if isinstance(a, list):
            only_a = [x for x in a if x not in b] or ["(none; same items, other order or count)"]
            only_b = [x for x in b if x not in a] or ["(none)"]
            lines += [
                f"{key}, only the script's QEMU has:",
                *(f"    {x}" for x in only_a),
                f"{key}, only the import's QEMU has:",
                *(f"    {x}" for x in only_b),
            ]
        else:
            lines += [f"{key}: script {a}, imported {b}"]
    return "\n".join(lines + ["import notes:", notes])
