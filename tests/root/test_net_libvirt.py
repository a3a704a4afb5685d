"""`vmrun net create|persist|start|stop|delete|list` against a real libvirtd in the test's namespace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.libvirtd import URI, LibvirtdLock

pytestmark = pytest.mark.root

NET, BRIDGE, SUBNET = "jrgnet", "jrgbr0", "192.168.128.0/24"
DEFINED = Path("/etc/libvirt/qemu/networks")


def one_error_line(r) -> str:
    """The error, and at most its hint: nothing from libvirt on stderr."""
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2, r.stderr
    assert lines[0].startswith("vmrun: error: ") and all(x.startswith("  hint: ") for x in lines[1:]), r.stderr
    assert len(lines) <= 2, r.stderr
    return lines[0]


def listed(vm) -> dict:
    r = vm("net", "list", "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def network(vm, name: str) -> dict | None:
    return next((n for n in listed(vm)["libvirt"]["networks"] if n["name"] == name), None)


def ifindex(netns, name: str) -> str:
    return netns.run("cat", f"/sys/class/net/{name}/ifindex", check=True).stdout.strip()


def test_create_is_persistent_started_and_autostart(vm, libvirtd):
    libvirtd.networks[NET] = BRIDGE  # removed after the test, whatever happens
    r = vm("net", "create", NET, "--nat", "--subnet", SUBNET, "--bridge", BRIDGE)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"{NET}: created (active, persistent, autostart, bridge {BRIDGE}, subnet {SUBNET})")

    shown = network(vm, NET)
    assert shown is not None
    assert {k: shown[k] for k in ("active", "persistent", "autostart", "bridge", "subnet", "forward")} == {
        "active": True,
        "persistent": True,
        "autostart": True,
        "bridge": BRIDGE,
        "subnet": SUBNET,
        "forward": "nat",
    }
    assert "allowed" in shown["helper"]
    assert "inet 192.168.128.1/24" in vm.netns.run("ip", "addr", "show", BRIDGE).stdout
    xml = libvirtd.conn.networkLookupByName(NET).XMLDesc(0)
    assert "<range start='192.168.128.2' end='192.168.128.254'/>" in xml
    assert (DEFINED / "autostart" / f"{NET}.xml").exists()

    assert one_error_line(vm("net", "create", NET, "--subnet", "192.168.129.0/24")) == (
        f"vmrun: error: libvirt at {URI} already has a network '{NET}'"
    )

    r = vm("net", "stop", NET)
    assert r.returncode == 0, r.stderr
    assert network(vm, NET)["active"] is False
    assert vm.netns.run("ip", "link", "show", BRIDGE).returncode != 0
    r = vm("net", "start", NET)
    assert r.returncode == 0, r.stderr
    assert network(vm, NET)["active"] is True

    r = vm("net", "delete", NET)
    assert r.returncode == 0, r.stderr
    assert network(vm, NET) is None
    assert not (DEFINED / f"{NET}.xml").exists() and not (DEFINED / "autostart" / f"{NET}.xml").exists()
    assert one_error_line(vm("net", "delete", NET)) == f"vmrun: error: libvirt at {URI} has no network '{NET}'"


def test_isolated_network_gets_a_derived_bridge_name(vm, libvirtd):
    name = "an-isolated-network"
    libvirtd.networks[name] = "vr-an-isol-1e43"
    r = vm("net", "create", name, "--isolated", "--no-autostart", "--json")
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)
    assert shown["forward"] == "isolated" and shown["subnet"] is None and shown["autostart"] is False
    assert len(shown["bridge"].encode()) <= 15 and shown["bridge"].startswith("vr-an-is")
    libvirtd.networks[name] = shown["bridge"]
    assert vm.netns.run("ip", "link", "show", shown["bridge"]).returncode == 0


def test_a_failed_start_leaves_nothing_defined(vm, libvirtd):
    # A subnet already routed in the namespace: libvirt defines the network, then refuses to start it.
    vm.netns.ip("link", "add", "busy0", "type", "bridge")
    vm.netns.ip("addr", "add", "192.168.140.1/24", "dev", "busy0")
    vm.netns.ip("link", "set", "busy0", "up")
    libvirtd.networks["clash"] = "clashbr0"
    first = one_error_line(vm("net", "create", "clash", "--subnet", "192.168.140.0/24", "--bridge", "clashbr0"))
    assert first.startswith("vmrun: error: cannot start network 'clash': ") and "busy0" in first
    assert first.endswith("; it was not left defined")
    assert network(vm, "clash") is None
    assert not (DEFINED / "clash.xml").exists()

    # A bridge name taken by another link is refused before anything is defined.
    first = one_error_line(vm("net", "create", "clash", "--subnet", "192.168.141.0/24", "--bridge", "busy0"))
    assert first == "vmrun: error: bridge name 'busy0' is taken by an existing interface"
    assert network(vm, "clash") is None


def test_bad_options_are_one_line(vm, libvirtd):
    cases = {
        (
            "--subnet",
            "192.168.128.1/24",
        ): "--subnet: '192.168.128.1/24' is not a subnet's own address; write 192.168.128.0/24",
        ("--nat",): "subnet: a nat network needs a subnet, e.g. 192.168.128.0/24",
        (
            "--subnet",
            SUBNET,
            "--dhcp-range",
            "192.168.128.1-192.168.128.9",
        ): "--dhcp-range: 192.168.128.1-192.168.128.9 holds the host's own address 192.168.128.1; start it at 192.168.128.2",
        (
            "--subnet",
            SUBNET,
            "--bridge",
            "a-bridge-name-too-long",
        ): "--bridge: 'a-bridge-name-too-long' is not a network interface name",
        ("--nat", "--isolated", "--subnet", SUBNET): "choose one of --nat, --isolated, --route, not 2",
        ("--isolated", "--uplink", "eth0"): "--uplink: does not apply to a network of kind 'isolated'",
    }
    for args, message in cases.items():
        first = one_error_line(vm("net", "create", "badnet", *args))
        assert first.startswith(f"vmrun: error: {message.replace('subnet: a', '--subnet: a')}"), first
    assert network(vm, "badnet") is None


def test_persist_turns_a_transient_network_persistent_while_it_runs(vm, libvirtd, tmp_path):
    libvirtd.networks[NET] = BRIDGE
    xml = tmp_path / "jrgnet.xml"
    xml.write_text(
        f"<network><name>{NET}</name><forward mode='nat'/><bridge name='{BRIDGE}' stp='on' delay='0'/>"
        "<ip address='192.168.128.1' netmask='255.255.255.0'><dhcp>"
        "<range start='192.168.128.2' end='192.168.128.254'/></dhcp></ip></network>"
    )
    virsh = ("virsh", "-c", URI)
    r = vm.netns.run(*virsh, "net-create", str(xml))
    assert r.returncode == 0, r.stderr
    # The seed's trap, as it was:
    r = vm.netns.run(*virsh, "net-autostart", NET)
    assert r.returncode != 0 and "cannot set autostart for transient network" in r.stderr
    before = ifindex(vm.netns, BRIDGE)

    r = vm("net", "persist", NET)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"{NET}: persistent (active, persistent, autostart, bridge {BRIDGE}")
    shown = network(vm, NET)
    assert shown["active"] and shown["persistent"] and shown["autostart"]
    assert ifindex(vm.netns, BRIDGE) == before, "the network was restarted, not kept up"
    assert (DEFINED / f"{NET}.xml").exists()

    r = vm("net", "persist", NET)  # again: nothing to do, no error
    assert r.returncode == 0, r.stderr
    info = vm.netns.run(*virsh, "net-info", NET).stdout.split()
    assert info[info.index("Persistent:") + 1] == "yes" and info[info.index("Autostart:") + 1] == "yes"
    assert one_error_line(vm("net", "persist", "nosuch")) == f"vmrun: error: libvirt at {URI} has no network 'nosuch'"


def test_stop_refuses_while_a_tap_is_on_the_bridge(vm, libvirtd):
    libvirtd.networks[NET] = BRIDGE
    assert vm("net", "create", NET, "--subnet", SUBNET, "--bridge", BRIDGE).returncode == 0
    vm.netns.ip("tuntap", "add", "vrt0", "mode", "tap")
    vm.netns.ip("link", "set", "vrt0", "master", BRIDGE)
    first = one_error_line(vm("net", "delete", NET))
    assert first == f"vmrun: error: network '{NET}' is in use: vrt0 on its bridge {BRIDGE}"
    assert network(vm, NET)["active"] is True
    r = vm("net", "delete", NET, "--force")
    assert r.returncode == 0, r.stderr
    assert network(vm, NET) is None


def test_list_without_libvirtd_says_so_and_lists_the_rest(vm, netns):
    netns.ip("link", "add", "lonebr0", "type", "bridge")
    netns.ip("link", "add", "lonenic0", "type", "veth", "peer", "name", "lonepeer0")
    netns.ip("link", "set", "lonenic0", "master", "lonebr0")
    netns.ip("addr", "add", "10.77.0.1/24", "dev", "lonebr0")
    with LibvirtdLock():  # no test's libvirtd runs meanwhile
        r = vm("net", "list")
        assert r.returncode == 0, r.stderr
        [line] = [x for x in r.stdout.splitlines() if x.startswith("libvirt networks")]
        assert line.startswith(f"libvirt networks ({URI}): cannot be asked: cannot reach libvirt at {URI}: ")
        row = next(x.split() for x in r.stdout.splitlines() if x.strip().startswith("lonebr0"))
        assert row[:4] == ["lonebr0", "lonenic0", "lonenic0", "10.77.0.1/24"]

        found = json.loads(vm("net", "list", "--json").stdout)
        assert found["libvirt"]["error"] and found["libvirt"]["networks"] == []
        [br] = [b for b in found["linux_bridges"] if b["name"] == "lonebr0"]
        assert br["uplink"] == "lonenic0" and br["addresses"] == ["10.77.0.1/24"]
        assert br["helper"]["allowed"] in (True, False) and br["helper"]["reason"]

        first = one_error_line(vm("net", "create", NET, "--subnet", SUBNET))
        assert first.startswith(f"vmrun: error: cannot reach libvirt at {URI}: ")


@pytest.mark.parametrize("left", ["defined", "started"])
def test_create_again_finishes_what_a_cut_short_create_left(vm, libvirtd, left):
    """Issue 21, item 3: `net create` killed after defining the network (``defined``: inactive, no autostart)
    or after starting it (``started``: no autostart). Before the fix a second `net create` only said
    "already has a network"; now it finishes the network, says so, and the result is a created one."""
    libvirtd.networks[NET] = BRIDGE
    args = ("net", "create", NET, "--nat", "--subnet", SUBNET, "--bridge", BRIDGE)
    assert vm(*args).returncode == 0
    handle = libvirtd.conn.networkLookupByName(NET)
    handle.setAutostart(0)
    if left == "defined":
        handle.destroy()
    flags = "inactive, persistent" if left == "defined" else "active, persistent"
    done = "started it and set it to autostart" if left == "defined" else "set it to autostart"

    r = vm(*args)
    assert r.returncode == 0, r.stderr
    assert r.stderr == f"vmrun: {NET}: an earlier `vmrun net create` had left it {flags}, bridge {BRIDGE}; {done}\n"
    assert r.stdout.startswith(f"{NET}: created (active, persistent, autostart, bridge {BRIDGE}, subnet {SUBNET})")
    shown = network(vm, NET)
    assert shown["active"] and shown["persistent"] and shown["autostart"]
    assert (DEFINED / "autostart" / f"{NET}.xml").exists()

    # Finished: a third create is refused as before.
    assert one_error_line(vm(*args)) == f"vmrun: error: libvirt at {URI} already has a network '{NET}'"


def test_create_again_leaves_a_different_half_made_network_alone(vm, libvirtd):
    """A defined, inactive network of that name that these options would not define is not vmrun's to finish."""
    libvirtd.networks[NET] = BRIDGE
    assert vm("net", "create", NET, "--nat", "--subnet", SUBNET, "--bridge", BRIDGE, "--no-autostart").returncode == 0
    libvirtd.conn.networkLookupByName(NET).destroy()

    first = one_error_line(vm("net", "create", NET, "--nat", "--subnet", "192.168.129.0/24", "--bridge", BRIDGE))
    assert first == (
        f"vmrun: error: libvirt at {URI} already has a network '{NET}' (inactive, persistent, "
        f"bridge {BRIDGE}), not the one these options define"
    )
    shown = network(vm, NET)
    assert not shown["active"] and not shown["autostart"] and shown["subnet"] == SUBNET


def test_create_killed_the_moment_it_defines_the_network_is_finished_by_a_second_create(vm, libvirtd):
    """The real thing, five rounds: `net create` SIGKILLed the moment libvirt writes the definition (between
    define, start and autostart, or just after). A second `net create` always ends with the full network."""
    import signal
    import subprocess
    import time

    from tests.conftest import vmrun_bin

    libvirtd.networks[NET] = BRIDGE
    args = ("net", "create", NET, "--nat", "--subnet", SUBNET, "--bridge", BRIDGE)
    for round_ in range(5):
        p = vm.netns.popen(vmrun_bin(), *args, env=vm.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not (DEFINED / f"{NET}.xml").exists() and p.poll() is None:
            assert time.monotonic() < deadline, "the network was never defined"
            time.sleep(0.0005)
        p.send_signal(signal.SIGKILL)
        p.communicate(timeout=60)
        r = vm(*args)
        assert "Traceback" not in r.stderr
        if r.returncode != 0:  # the kill came after the create had finished
            assert one_error_line(r) == f"vmrun: error: libvirt at {URI} already has a network '{NET}'", round_
        shown = network(vm, NET)
        assert shown["active"] and shown["persistent"] and shown["autostart"], (round_, shown, r.stderr)
        print(f"round {round_}: {r.stderr.strip() or r.stdout.splitlines()[0]}")
        r = vm("net", "delete", NET)
        assert r.returncode == 0, r.stderr
