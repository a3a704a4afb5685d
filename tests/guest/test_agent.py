"""The guest agent on the qemu engine: exec, cp, ip, ssh and ssh-config on one booted guest with a user
NIC and a bridged NIC (tests/agentchecks.py), and a guest with agent = false."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.agentchecks import check_inside
from tests.conftest import guest_profile
from tests.lan import SUBNET

pytestmark = [pytest.mark.root, pytest.mark.guest]

MAC = "52:54:00:77:00:31"


@pytest.fixture
def inside(vm, tmp_path):
    """``vm`` with a HOME of its own (no keys: vmrun makes its own pair) and no terminal on stdin."""
    env = {**vm.env, "HOME": str(tmp_path / "home")}

    def vmrun(*args: str, timeout: float = 300):
        from tests.conftest import vmrun_bin

        return vm.netns.run(vmrun_bin(), *args, env=env, timeout=timeout, stdin=subprocess.DEVNULL)

    return vmrun


def test_exec_cp_ip_ssh_on_a_bridged_guest(vm, inside, lan, write_profile, test_guest, tmp_path):
    lan.bridge("br0")
    vm.netns.ip("addr", "add", f"{SUBNET}.2/24", "dev", "br0")  # this host reaches the LAN's guests
    nics = f'[[nics]]\nid = "u0"\n\n[[nics]]\nid = "b0"\ntype = "bridge"\nbridge = "br0"\nvia = "tap"\nmac = "{MAC}"\n'
    path = guest_profile(write_profile, test_guest, nics)
    r = vm("up", str(path))
    assert r.returncode == 0, r.stderr
    try:
        check_inside(inside, vm.netns, "g", MAC, lan.lease_of(MAC), tmp_path)  # ends with `down`
    finally:
        if (vm.runtime_dir / "g").exists():
            vm("down", "g", "--force")


def test_a_guest_without_an_agent_port_says_so_at_once(vm, inside, write_profile, test_guest):
    path = guest_profile(write_profile, test_guest, "", extra="agent = false\n")
    assert vm("up", str(path)).returncode == 0
    try:
        started = time.monotonic()
        r = inside("exec", "g", "--", "true")
        assert r.returncode == 125 and r.stderr.startswith("vmrun: error: g: it has no guest agent port")
        r = inside("ip", "g")
        assert r.returncode == 1 and "it has no guest agent port" in r.stderr
        assert time.monotonic() - started < 5
    finally:
        assert vm("down", "g", "--force").returncode == 0


def test_ssh_with_the_key_vmrun_put_in_the_seed(vm, inside, write_profile, test_guest):
    """No agent here: the key reaches the guest in its cloud-init seed (the test guest reads its user-data)."""
    nics = '[[nics]]\nid = "u0"\nhostfwd = ["tcp::18122-:22"]\n'
    path = guest_profile(write_profile, test_guest, nics, extra="agent = false\n[cloud_init]\n")
    assert vm("up", str(path)).returncode == 0
    try:
        deadline = time.monotonic() + 120
        while True:
            r = inside("ssh", "g", "--", "echo", "seed")
            if r.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(1)  # sshd not up yet
        assert (r.returncode, r.stdout) == (0, "seed\n"), r.stderr
        assert "no guest agent took the key" in r.stderr
    finally:
        assert vm("down", "g", "--force").returncode == 0
