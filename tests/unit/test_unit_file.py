"""`vmrun unit`: the systemd service's text, checked by systemd's own verifier (no systemd needs to run)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import vmrun_bin
from vmrun import unit
from vmrun.errors import ProfileError, StateError
from vmrun.profile.load import load_profile

PROFILE = """name = "{name}"
[[nics]]
type = "bridge"
bridge = "br-lan0"
[[nics]]
type = "macvtap"
parent = "ens1f0"
[[nics]]
type = "ovs"
bridge = "br-lan0"
[[nics]]
hostfwd = ["tcp::2222-:22"]
"""


def verify(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True, timeout=60)


def run_vmrun(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env or {})}
    env.pop("VMRUN_RUNTIME_DIR", None)
    return subprocess.run([vmrun_bin(), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=60)


def test_unit_text_and_systemd_verify(tmp_path):
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "web.toml").write_text(PROFILE.format(name="web"))
    r = run_vmrun("unit", "web", "--timeout", "45", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    text = r.stdout
    lines = text.splitlines()
    me = str(Path(vmrun_bin()).resolve())
    profile = str(tmp_path / "profiles" / "web.toml")
    assert f"ExecStart={me} up {profile}" in lines
    assert f"ExecStop={me} down web --timeout 45" in lines
    assert "Type=forking" in lines and "PIDFile=%t/vmrun/web/qemu.pid" in lines
    assert "TimeoutStopSec=75" in lines  # above the down timeout
    # Bridges and macvtap parents as device units, escaped as systemd-escape does ('-' is \x2d).
    esc = subprocess.run(
        ["systemd-escape", "--path", "/sys/subsystem/net/devices/br-lan0"], capture_output=True, text=True
    )
    device = esc.stdout.strip() + ".device"
    assert device == "sys-subsystem-net-devices-br\\x2dlan0.device"
    needs = f"network-online.target {device} sys-subsystem-net-devices-ens1f0.device"
    assert f"Wants={needs}" in lines and f"After={needs}" in lines
    assert "WantedBy=multi-user.target" in lines  # the tests run as root
    unit_file = tmp_path / "vmrun-web.service"
    unit_file.write_text(text)
    v = verify(unit_file)
    assert v.returncode == 0, v.stdout + v.stderr


def test_paths_with_spaces_and_percent_are_quoted(tmp_path):
    """A vmrun and a profile in folders with spaces, % and $: the verifier finds the program; nothing expands."""
    folder = tmp_path / "my vms 100% $HOME"
    folder.mkdir()
    bindir = tmp_path / "bin dir"
    bindir.mkdir()
    fake = bindir / "vmrun"
    shutil.copy(vmrun_bin(), fake)
    (folder / "a.toml").write_text('name = "a"\n')
    spec = unit.spec_for(load_profile(str(folder / "a.toml")), timeout=10, vmrun=str(fake), user=False)
    text = unit.render(spec)
    assert f'ExecStart="{bindir}/vmrun" up "{tmp_path}/my vms 100%% $$HOME/a.toml"' in text.splitlines()
    unit_file = tmp_path / "vmrun-a.service"
    unit_file.write_text(text)
    v = verify(unit_file)
    assert v.returncode == 0, v.stdout + v.stderr
    # The verifier does check ExecStart: a program that is not there fails it.
    fake.unlink()
    assert verify(unit_file).returncode != 0


def test_quote_arg():
    assert unit.quote_arg("/usr/bin/vmrun") == "/usr/bin/vmrun"
    assert unit.quote_arg('a "b"\\c') == '"a \\"b\\"\\\\c"'
    assert unit.quote_arg("") == '""'
    assert unit.quote_arg("50%") == "50%%"


def test_user_unit_and_runtime_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("VMRUN_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    (tmp_path / "a.toml").write_text('name = "a"\n[[nics]]\ntype = "network"\nnetwork = "default"\n')
    spec = unit.spec_for(load_profile(str(tmp_path / "a.toml")), timeout=60, vmrun="/usr/bin/vmrun", user=True)
    lines = unit.render(spec).splitlines()
    assert f"PIDFile={tmp_path}/run/a/qemu.pid" in lines
    assert f'Environment="VMRUN_RUNTIME_DIR={tmp_path}/run"' in lines
    assert "Wants=network-online.target libvirtd.service" in lines
    assert "WantedBy=default.target" in lines
    assert unit.install_path("a", user=True) == tmp_path / "cfg" / "systemd" / "user" / "vmrun-a.service"
    assert unit.install_path("a", user=False) == Path("/etc/systemd/system/vmrun-a.service")


def test_install_writes_the_user_unit(tmp_path):
    """--install as a user would (XDG_CONFIG_HOME); for root the same code writes /etc/systemd/system."""
    (tmp_path / "a.toml").write_text('name = "a"\n')
    out = tmp_path / "out" / "vmrun-a.service"
    r = run_vmrun("unit", str(tmp_path / "a.toml"), "-o", str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"wrote {out}\n"
    assert out.read_text().startswith("# Written by `vmrun unit a`")
    assert out.stat().st_mode & 0o777 == 0o644


def test_libvirt_profiles_are_refused_in_one_line(tmp_path):
    (tmp_path / "a.toml").write_text('name = "a"\nengine = "libvirt"\n')
    with pytest.raises(ProfileError, match="runs under libvirt"):
        unit.spec_for(load_profile(str(tmp_path / "a.toml")), timeout=60, vmrun="/usr/bin/vmrun")
    r = run_vmrun("unit", str(tmp_path / "a.toml"), cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.splitlines()[0].endswith(
        "a.toml: engine: runs under libvirt, which starts it at boot itself"
    )


def test_control_characters_are_refused_in_one_line(tmp_path, monkeypatch):
    """A newline in a path would end its line and start a directive of its own (issue 21, item 2)."""
    folder = tmp_path / "x\nExecStartPre=touch injected\n"
    folder.mkdir()
    (folder / "a.toml").write_text('name = "a"\n')
    out = tmp_path / "vmrun-a.service"
    r = run_vmrun("unit", str(folder / "a.toml"), "-o", str(out), cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.splitlines()[0] == (
        f"vmrun: error: {tmp_path}/x\\x0aExecStartPre=touch injected\\x0a/a.toml: "
        "contains a control character (U+000A); a systemd unit cannot carry it"
    )
    assert "Traceback" not in r.stderr and not out.exists()
    (tmp_path / "b.toml").write_text('name = "b"\n')
    with pytest.raises(StateError, match=r"^the vmrun program's path /usr/bin/vm\\x0drun contains a control character"):
        unit.render(unit.spec_for(load_profile(str(tmp_path / "b.toml")), timeout=10, vmrun="/usr/bin/vm\rrun"))
    monkeypatch.setenv("VMRUN_RUNTIME_DIR", f"{tmp_path}/run\tdir")
    with pytest.raises(StateError, match=r"^VMRUN_RUNTIME_DIR=.*/run\\x09dir contains a control character \(U\+0009\)"):
        unit.render(unit.spec_for(load_profile(str(tmp_path / "b.toml")), timeout=10, vmrun="/usr/bin/vmrun"))


def test_printable_oddities_reach_systemd_intact(tmp_path):
    """';', '$', '%' and non-ASCII in the program's path, quotes and backslashes in the profile's: the unit verifies,
    and the verifier finds the program at exactly that path ($ is not doubled there: systemd expands none)."""
    bindir = tmp_path / "odd; é $HOME 5%"
    bindir.mkdir()
    fake = bindir / "vmrun"
    shutil.copy(vmrun_bin(), fake)
    folder = tmp_path / "we\"ird \\ 'dir'"
    folder.mkdir()
    (folder / "a.toml").write_text('name = "a"\n')
    spec = unit.spec_for(load_profile(str(folder / "a.toml")), timeout=10, vmrun=str(fake), user=False)
    unit_file = tmp_path / "vmrun-a.service"
    unit_file.write_text(unit.render(spec))
    v = verify(unit_file)
    assert v.returncode == 0, v.stdout + v.stderr
    fake.unlink()
    assert verify(unit_file).returncode != 0
    with pytest.raises(StateError, match="has a quote or a backslash, which systemd refuses"):
        unit.render(unit.spec_for(load_profile(str(folder / "a.toml")), timeout=10, vmrun=f"{folder}/vmrun"))
