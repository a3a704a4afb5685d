"""`type = "tap"` (a tap someone else made) and `type = "netdev"` (any other QEMU backend) on the tiny guest."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import guest_profile, links

pytestmark = [pytest.mark.root, pytest.mark.guest]

MAC = "52:54:00:77:00:21"


def test_an_existing_tap_carries_the_guest_and_is_never_deleted(vm, lan, write_profile, test_guest):
    lan.bridge("br0")
    vm.netns.ip("tuntap", "add", "dev", "admintap0", "mode", "tap")
    vm.netns.ip("link", "set", "admintap0", "master", "br0")
    vm.netns.ip("link", "set", "admintap0", "up")
    before = links(vm.netns)
    nic = f'[[nics]]\nid = "n0"\ntype = "tap"\nifname = "admintap0"\nmac = "{MAC}"\n'
    path = guest_profile(write_profile, test_guest, nic)
    r = vm("up", str(path))
    assert r.returncode == 0, r.stderr
    [entry] = json.loads(vm("ps", "--json").stdout)
    assert entry["nics"][0]["host"]["tap"] == "admintap0"
    address = lan.lease_of(MAC)
    assert f"inet {address}/24" in lan.http(address)
    r = vm("down", "g")
    assert r.returncode == 0, r.stderr
    # vmrun did not make the tap, so it is still there, still on its bridge.
    assert links(vm.netns) == before
    assert "master br0" in vm.netns.run("ip", "link", "show", "admintap0").stdout


def test_a_tap_that_is_not_there_is_refused_before_qemu(vm, write_profile, test_guest):
    nic = '[[nics]]\ntype = "tap"\nifname = "nosuchtap0"\n'
    r = vm("up", str(guest_profile(write_profile, test_guest, nic)))
    assert r.returncode == 2
    [line] = r.stderr.splitlines()[:1]
    assert "nics[0].ifname: there is no tap nosuchtap0 on this host" in line


# Reads one UDP datagram (QEMU's socket backend sends each guest frame as one) and prints
# the frame's source MAC: the guest's DHCP discover proves the backend carries its traffic.
_LISTEN = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.settimeout(120)
frame = s.recv(65536)
print(":".join(f"{b:02x}" for b in frame[6:12]), flush=True)
"""


def test_a_netdev_backend_carries_the_guests_frames_and_is_a_nic_vmrun_sees(vm, write_profile, test_guest):
    listener = vm.netns.popen(sys.executable, "-c", _LISTEN, "47011", stdout=subprocess.PIPE, text=True)
    try:
        nic = (
            f'[[nics]]\nid = "sock0"\ntype = "netdev"\nbackend = "socket"\nmac = "{MAC}"\n'
            'options = "udp=127.0.0.1:47011,localaddr=127.0.0.1:47012"\n'
        )
        path = guest_profile(write_profile, test_guest, nic)
        shown = json.loads(vm("show", str(path), "--json").stdout)["argv"]
        assert "socket,id=sock0,udp=127.0.0.1:47011,localaddr=127.0.0.1:47012" in shown
        r = vm("up", str(path))
        assert r.returncode == 0, r.stderr
        out, _ = listener.communicate(timeout=150)
        assert out.strip() == MAC
        [listed] = json.loads(vm("nic", "list", "g", "--json").stdout)
        assert listed["id"] == "sock0"
        r = vm("nic", "del", "g", "sock0")
        assert r.returncode == 0, r.stderr
        assert json.loads(vm("nic", "list", "g", "--json").stdout) == []
        assert vm("down", "g").returncode == 0
    finally:
        listener.kill()
        listener.wait()
