"""`type = "passt"`: a guest behind passt leases the namespace's own address and answers through a forward."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import guest_profile, serial_lease, vmrun_bin
from tests.lan import SUBNET

pytestmark = [pytest.mark.root, pytest.mark.guest]

MAC = "52:54:00:77:00:05"
HOST_ADDR = f"{SUBNET}.2"


def nic(forwards: str = '["tcp::8080-:80"]') -> str:
    return f'[[nics]]\nid = "n0"\ntype = "passt"\nmac = "{MAC}"\nhostfwd = {forwards}\n'


def give_address(netns) -> None:
    """passt hands the guest a copy of the host's address and default route: give the namespace both."""
    netns.ip("addr", "add", f"{HOST_ADDR}/24", "dev", "uplink0")
    netns.ip("route", "add", "default", "via", f"{SUBNET}.1")


def passt_pids() -> set[int]:
    """passt re-executes itself as passt.avx2 where the CPU has it; the pid stays."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if stat[stat.index("(") + 1 : stat.rindex(")")].startswith("passt") and stat[stat.rindex(")") + 2] != "Z":
                found.add(int(entry.name))
    return found


def test_passt_dhcp_and_forward(vm, lan, write_profile, test_guest):
    give_address(vm.netns)
    before = passt_pids()
    path = guest_profile(write_profile, test_guest, nic())
    r = vm("up", str(path))
    assert r.returncode == 0, r.stderr
    run_dir = vm.runtime_dir / "g"
    [entry] = json.loads(vm("ps", "--json").stdout)
    host = entry["nics"][0]["host"]
    assert host["socket"] == str(run_dir / "passt-n0.sock")
    assert host["forwards"] == ["tcp:127.0.0.1:8080-:80"]
    assert host["passt"] in passt_pids() - before
    # The forward binds loopback only, as a rule without a host address says.
    assert "127.0.0.1:8080 " in vm.netns.run("ss", "-Hltn", "sport", "= :8080").stdout

    assert serial_lease(run_dir) == f"{HOST_ADDR}/24"
    assert f"inet {HOST_ADDR}/24" in vm.netns.http("http://127.0.0.1:8080/cgi-bin/ip")

    r = vm("down", "g")
    assert r.returncode == 0, r.stderr
    assert passt_pids() - before == set()
    assert not run_dir.exists()  # the socket and passt's log went with it
    assert vm.netns.run("ss", "-Hltn", "sport", "= :8080").stdout == ""


def test_forward_port_taken_is_refused_before_passt(vm, lan, write_profile, test_guest):
    give_address(vm.netns)
    before = passt_pids()
    holder = vm.netns.popen(
        "python3",
        "-c",
        "import socket,time; s=socket.socket(); s.bind(('127.0.0.1',8080)); "
        "s.listen(); print('ok', flush=True); time.sleep(60)",
        stdout=-1,
    )
    try:
        assert holder.stdout.readline().strip() == b"ok"
        path = guest_profile(write_profile, test_guest, nic())
        r = vm("up", str(path))
    finally:
        holder.kill()
        holder.wait()
    assert r.returncode == 2, r.stderr
    [line] = [x for x in r.stderr.splitlines() if x.startswith("vmrun: error:")]
    assert f"{path}: nics[0].hostfwd[0]: host port 127.0.0.1:8080/tcp cannot be bound" in line
    assert passt_pids() - before == set()
    assert not (vm.runtime_dir / "g").exists()


def test_passt_failing_at_start_leaves_nothing(vm, write_profile, test_guest):
    """A namespace with no default route: passt has no interface to copy and exits."""
    before = passt_pids()
    path = guest_profile(write_profile, test_guest, nic())
    r = vm("up", str(path))
    assert r.returncode == 1, r.stderr
    assert "passt exited at start (status 1): External interface not usable" in r.stderr
    assert "no default route" in r.stderr
    assert passt_pids() - before == set()
    assert not (vm.runtime_dir / "g").exists()


def test_guest_address_in_a_forward_is_refused(vm, write_profile, test_guest):
    path = guest_profile(write_profile, test_guest, nic('["tcp::8080-10.0.2.15:80"]'))
    r = vm("up", str(path))
    assert r.returncode == 2
    assert "nics[0].hostfwd[0]: passt forwards to the guest's one address" in r.stderr
    assert '"tcp:127.0.0.1:8080-:80"' in r.stderr


def test_passt_not_installed(vm, write_profile, test_guest, tmp_path):
    # Only `ip` on PATH (for `ip netns exec`); QEMU is named by its full path.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ip").symlink_to(shutil.which("ip"))
    path = guest_profile(write_profile, test_guest, nic(), extra=f'qemu = "{shutil.which("qemu-system-x86_64")}"')
    r = vm.netns.run(vmrun_bin(), "up", str(path), env={**vm.env, "PATH": str(bin_dir)})
    assert r.returncode == 2, r.stderr
    assert f"{path}: nics[0].type: passt is not installed" in r.stderr
    assert "apt-get install passt" in r.stderr
    assert not (vm.runtime_dir / "g").exists()


def test_passt_quits_with_qemu_and_gc_cleans_up(vm, lan, write_profile, test_guest):
    """--one-off: once QEMU is gone passt quits by itself, even with no `vmrun down` to stop it."""
    give_address(vm.netns)
    before = passt_pids()
    path = guest_profile(write_profile, test_guest, nic())
    assert vm("up", str(path)).returncode == 0
    [entry] = json.loads(vm("ps", "--json").stdout)
    passt = entry["nics"][0]["host"]["passt"]
    vm.netns.run("kill", "-9", str(entry["pid"]))
    deadline = time.monotonic() + 10
    while passt in passt_pids() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert passt not in passt_pids()
    r = vm("gc")
    assert r.returncode == 0 and "cleaned up: g" in r.stdout
    assert passt_pids() - before == set()
    assert not (vm.runtime_dir / "g").exists()


def test_forward_arguments():
    from vmrun.net.passt import forward_args
    from vmrun.profile.fields import parse_hostfwd

    assert forward_args(parse_hostfwd("tcp::8080-:80")) == ["-t", "127.0.0.1/8080:80"]
    assert forward_args(parse_hostfwd("udp:0.0.0.0:5353-:53")) == ["-u", "0.0.0.0/5353:53"]
