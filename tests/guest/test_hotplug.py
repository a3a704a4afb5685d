"""`vmrun nic add/del/list` and `vmrun fwd add/del/list` on a running guest."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import guest_profile, links
from tests.lan import SUBNET

pytestmark = [pytest.mark.root, pytest.mark.guest]

USER_NIC = '[[nics]]\nid = "net0"\ntype = "user"\nhostfwd = ["tcp::8080-:80"]\n'


@pytest.fixture
def running_guest(vm, write_profile, test_guest):
    path = guest_profile(write_profile, test_guest, USER_NIC)
    r = vm("up", str(path), "--wait", "--wait-timeout", "120")
    assert r.returncode == 0, r.stderr
    yield json.loads(vm("ps", "--json").stdout)[0]["pid"]
    vm("down", "g", "--force")


def netdevs(vm) -> str:
    r = vm("qmp", "g", "human-monitor-command", '{"command-line": "info network"}')
    return json.loads(r.stdout)


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_nic_add_on_a_bridge_then_del(vm, lan, running_guest):
    lan.bridge("br0")
    before = links(vm.netns)
    mac = "52:54:00:77:01:01"
    r = vm("nic", "add", "g", "--bridge", "br0", "--mac", mac)
    assert r.returncode == 0, r.stderr
    assert "g: added net1 (virtio-net-pci, MAC 52:54:00:77:01:01)" in r.stdout and "tap=vr-g-net1" in r.stdout

    address = lan.lease_of(mac)
    assert address.startswith(f"{SUBNET}.")
    assert f"inet {address}/24" in lan.http(address)

    nics = {n["id"]: n for n in json.loads(vm("nic", "list", "g", "--json").stdout)}
    assert nics["net0"]["origin"] == "profile" and nics["net0"]["type"] == "user"
    assert nics["net1"]["origin"] == "hot-plugged" and nics["net1"]["mac"] == mac
    assert nics["net1"]["host"]["tap"] == "vr-g-net1" and nics["net1"]["host"]["bridge"] == "br0"

    r = vm("nic", "del", "g", "net1")
    assert r.returncode == 0, r.stderr
    assert links(vm.netns) == before
    assert "net1" not in netdevs(vm)
    assert [n["id"] for n in json.loads(vm("nic", "list", "g", "--json").stdout)] == ["net0"]


def test_add_and_del_five_times_leaks_nothing(vm, lan, running_guest):
    lan.bridge("br0")
    pid = running_guest

    def cycle() -> None:
        r = vm("nic", "add", "g", "--bridge", "br0", "--id", "hp")
        assert r.returncode == 0, r.stderr
        r = vm("nic", "del", "g", "hp")
        assert r.returncode == 0, r.stderr

    cycle()  # the first one settles QEMU's own lazily opened fds (monitor connections come and go)
    links_before, fds_before, netdevs_before = links(vm.netns), open_fds(pid), netdevs(vm)
    for _ in range(5):
        cycle()
    assert links(vm.netns) == links_before
    assert open_fds(pid) <= fds_before
    assert netdevs(vm) == netdevs_before


def test_two_adds_at_once_are_serialised(vm, lan, running_guest):
    import subprocess

    from tests.conftest import vmrun_bin

    lan.bridge("br0")
    procs = [
        vm.netns.popen(
            vmrun_bin(),
            "nic",
            "add",
            "g",
            "--bridge",
            "br0",
            "--json",
            env=vm.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    added = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        added.append(json.loads(out))
    assert {a["id"] for a in added} == {"net1", "net2"}
    assert len({a["mac"] for a in added}) == 2
    for a in added:
        assert vm("nic", "del", "g", a["id"]).returncode == 0


def test_failed_device_add_leaves_no_tap_and_no_netdev(vm, lan, running_guest):
    lan.bridge("br0")
    before, nets = links(vm.netns), netdevs(vm)
    r = vm("nic", "add", "g", "--bridge", "br0", "--model", "nosuchnic")
    assert r.returncode == 1
    assert "device_add" in r.stderr and "Traceback" not in r.stderr
    assert links(vm.netns) == before
    assert netdevs(vm) == nets
    r = vm("nic", "add", "g", "--bridge", "br0", "--id", "net0")
    assert r.returncode == 2 and "'net0' is already a NIC of g" in r.stderr
    assert links(vm.netns) == before


def test_nic_add_user_and_save(vm, running_guest, tmp_path):
    profile = tmp_path / "g.toml"
    original = profile.read_text()
    r = vm("nic", "add", "g", "--user", "--hostfwd", "tcp::8090-:80", "--save")
    assert r.returncode == 0, r.stderr
    text = profile.read_text()
    assert text.startswith(original)  # comments and layout kept: appended only
    added = text.removeprefix(original)
    assert "[[nics]]" in added and 'id = "net1"' in added and "tcp::8090-:80" in added
    nics = {n["id"]: n for n in json.loads(vm("nic", "list", "g", "--json").stdout)}
    assert nics["net1"]["type"] == "user" and nics["net1"]["origin"] == "hot-plugged"
    rules = [f["rule"] for f in json.loads(vm("fwd", "list", "g", "--json").stdout)]
    assert "tcp:127.0.0.1:8090-:80" in rules
    # The saved profile is what the next `up` starts: both NICs, the same MACs.
    shown = json.loads(vm("show", str(profile), "--json").stdout)
    assert [n["id"] for n in shown["nics"]] == ["net0", "net1"]
    assert shown["nics"][1]["mac"] == nics["net1"]["mac"]


def test_fwd_add_list_del(vm, running_guest):
    r = vm("fwd", "add", "g", "tcp::8081-:80")
    assert r.returncode == 0, r.stderr
    assert "tcp:127.0.0.1:8081-:80" in r.stdout
    r = vm.netns.run("curl", "-sS", "--max-time", "20", "http://127.0.0.1:8081/cgi-bin/ip")
    assert "inet 10.0.2.15/24" in r.stdout, r.stderr
    rules = [f["rule"] for f in json.loads(vm("fwd", "list", "g", "--json").stdout)]
    assert rules == ["tcp:127.0.0.1:8080-:80", "tcp:127.0.0.1:8081-:80"]

    r = vm("fwd", "add", "g", "tcp::8081-:22")
    assert r.returncode == 2 and "8081/tcp cannot be bound" in r.stderr

    r = vm("fwd", "del", "g", "tcp:127.0.0.1:8081")
    assert r.returncode == 0, r.stderr
    r = vm.netns.run("curl", "-sS", "--max-time", "5", "http://127.0.0.1:8081/")
    assert r.returncode != 0
    assert [f["rule"] for f in json.loads(vm("fwd", "list", "g", "--json").stdout)] == ["tcp:127.0.0.1:8080-:80"]


def test_q35_gets_hotplug_ports_and_says_when_full(vm, lan, write_profile, test_guest):
    lan.bridge("br0")
    path = guest_profile(write_profile, test_guest, USER_NIC, extra='machine = "q35"\nhotplug_slots = 1\n')
    r = vm("up", str(path), "--wait", "--wait-timeout", "120")
    assert r.returncode == 0, r.stderr
    try:
        mac = "52:54:00:77:02:01"
        r = vm("nic", "add", "g", "--bridge", "br0", "--mac", mac, "--json")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["bus"] == "vmrun-hp0"
        address = lan.lease_of(mac)
        assert f"inet {address}/24" in lan.http(address)
        before = links(vm.netns)
        r = vm("nic", "add", "g", "--bridge", "br0")
        assert r.returncode == 2 and "no free hot-plug slot (hotplug_slots = 1)" in r.stderr
        assert links(vm.netns) == before
        assert vm("nic", "del", "g", "net1").returncode == 0
        r = vm("nic", "add", "g", "--bridge", "br0", "--id", "again")
        assert r.returncode == 0, r.stderr
    finally:
        vm("down", "g", "--force")
