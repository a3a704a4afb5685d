"""`vmrun net bridge --uplink`: a Linux bridge takes over a NIC's addresses and routes, or the NIC keeps them.

The "NIC" is the veth ``uplink0`` of the test LAN (tests/lan.py); the LAN side
runs a web server, reached before and after over the subnet, over the default
route and over IPv6, so the host is shown to stay reachable.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.root

UPLINK, BRIDGE = "uplink0", "br1"
V4, V6 = "192.168.77.5/24", "2001:db8:77::5/64"
FAR = "10.99.0.1"  # on the LAN side, reached only through the default route


@pytest.fixture
def uplink(lan):
    """uplink0 configured as a host's NIC is: addresses, a default route, a route in another table, IPv6."""
    h, ln = lan.host, lan.ns
    h.ip("addr", "add", V4, "dev", UPLINK)
    h.ip("addr", "add", V6, "dev", UPLINK, "nodad")
    h.ip("route", "add", "default", "via", "192.168.77.1", "dev", UPLINK, "proto", "static", "metric", "50")
    h.ip("route", "add", "10.9.0.0/16", "via", "192.168.77.2", "dev", UPLINK, "table", "100")
    h.ip("-6", "route", "add", "default", "via", "2001:db8:77::1", "dev", UPLINK, "metric", "10")
    # A source address and a path MTU to keep; a router advertisement's route through a link-local gateway.
    h.ip("route", "add", "10.8.0.0/16", "via", "192.168.77.3", "dev", UPLINK, "src", "192.168.77.5", "mtu", "1400")
    h.ip("-6", "route", "add", "2001:db8:99::/64", "via", "fe80::1", "dev", UPLINK, "proto", "ra")
    ln.ip("addr", "add", "2001:db8:77::1/64", "dev", "lan", "nodad")
    ln.ip("addr", "add", f"{FAR}/32", "dev", "lo")
    server = ln.popen(
        sys.executable,
        "-m",
        "http.server",
        "8080",
        "--bind",
        "::",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for target in ("192.168.77.1", FAR, "[2001:db8:77::1]"):
            reach(h, target)
        yield lan
    finally:
        server.kill()
        server.wait()


def reach(ns, target: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while True:
        r = ns.run("curl", "-sS", "-o", "/dev/null", "--max-time", "2", f"http://{target}:8080/")
        if r.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{target} not reachable from the host namespace: {r.stderr}")
        time.sleep(0.2)


def ip_state(ns) -> dict[str, list[str]]:
    """Addresses and routes, without what changes by itself (lifetimes, the order of lines)."""

    def lines(*args: str) -> list[str]:
        return sorted(" ".join(x.split()) for x in ns.run("ip", *args, check=True).stdout.splitlines())

    return {
        "addr": [x.split("\\")[0] for x in lines("-o", "addr", "show") if "scope global" in x],
        "route4": lines("-4", "route", "show", "table", "all"),
        # IPv6's local table follows link-local addresses and DAD, which settle in their own time.
        "route6": [
            x for x in lines("-6", "route", "show", "table", "all") if "fe80::" not in x and "table local" not in x
        ],
    }


def globals_of(ns, dev: str) -> list[str]:
    out = ns.run("ip", "-o", "addr", "show", "dev", dev, "scope", "global", check=True).stdout
    return sorted(line.split()[3] for line in out.splitlines())


def mac(ns, dev: str) -> str:
    return ns.run("cat", f"/sys/class/net/{dev}/address", check=True).stdout.strip()


def test_bridge_takes_over_addresses_and_routes(vm, uplink):
    h = uplink.host
    before = ip_state(h)
    r = vm("net", "bridge", BRIDGE, "--uplink", UPLINK)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"{BRIDGE}: bridge over {UPLINK} (MAC {mac(h, UPLINK)}); moved ")

    assert f"master {BRIDGE}" in h.run("ip", "link", "show", UPLINK).stdout
    assert mac(h, BRIDGE) == mac(h, UPLINK)
    assert globals_of(h, BRIDGE) == sorted([V4, V6]) and globals_of(h, UPLINK) == []
    after = ip_state(h)

    # Every route that left through the uplink now leaves through the bridge, and nothing else changed.
    def routes(state: dict, old: str = UPLINK, new: str = UPLINK) -> list[str]:
        # The local table is the kernel's, per link: each link keeps its own.
        return sorted(
            x.replace(f"dev {old}", f"dev {new}")
            for k in ("route4", "route6")
            for x in state[k]
            if "table local" not in x
        )

    assert routes(after) == routes(before, UPLINK, BRIDGE)
    for target in ("192.168.77.1", FAR, "[2001:db8:77::1]"):
        reach(h, target)

    r = vm("net", "bridge", BRIDGE, "--uplink", UPLINK)
    assert r.returncode == 2 and r.stderr.splitlines()[0] == f"vmrun: error: there is a bridge named '{BRIDGE}' already"
    r = vm("net", "bridge", "br2", "--uplink", UPLINK)
    assert r.returncode == 2 and r.stderr.splitlines()[0] == f"vmrun: error: {UPLINK} is already a port of {BRIDGE}"

    # Once bridged, the boot-time configuration is written from what the bridge holds.
    r = vm("net", "bridge", BRIDGE, "--uplink", UPLINK, "--print-config", "nmcli")
    assert r.returncode == 0, r.stderr
    add_bridge = next(x for x in r.stdout.splitlines() if x.startswith("nmcli connection add type bridge "))
    for words in (
        f"ifname {BRIDGE}",
        f"ethernet.cloned-mac-address {mac(h, UPLINK)}",
        "bridge.stp no",
        f"ipv4.method manual ipv4.addresses {V4} ipv4.gateway 192.168.77.1 ipv4.route-metric 50",
        "ipv4.routes '10.8.0.0/16 192.168.77.3 src=192.168.77.5 mtu=1400, 10.9.0.0/16 192.168.77.2 table=100'",
        f"ipv6.addresses {V6} ipv6.gateway 2001:db8:77::1",
    ):
        assert words in add_bridge, add_bridge
    assert (
        f"nmcli connection add type bridge-slave con-name {BRIDGE}-port-{UPLINK} ifname {UPLINK} master {BRIDGE}"
        in r.stdout
    )

    r = vm("net", "bridge", BRIDGE, "--uplink", UPLINK, "--print-config", "networkd")
    assert r.returncode == 0, r.stderr
    for text in (
        f"[NetDev]\nName={BRIDGE}\nKind=bridge\nMACAddress={mac(h, UPLINK)}\n",
        f"[Match]\nName={UPLINK}\n\n[Network]\nBridge={BRIDGE}\n",
        f"[Network]\nAddress={V4}\nAddress={V6}\n",
        "[Route]\nGateway=192.168.77.1\nMetric=50\n",
        "[Route]\nDestination=10.9.0.0/16\nGateway=192.168.77.2\nTable=100\n",
        "[Route]\nDestination=10.8.0.0/16\nGateway=192.168.77.3\nPreferredSource=192.168.77.5\nMTUBytes=1400\n",
    ):
        assert text in r.stdout, r.stdout
    # A router advertisement's route: the booted bridge learns it again.
    assert "fe80::1" not in "".join(x for x in r.stdout.splitlines() if not x.startswith("#"))
    assert ip_state(h) == after  # printing changed nothing


def test_a_failure_half_way_gives_the_nic_everything_back(vm, uplink):
    h = uplink.host
    # New links get no IPv6: the bridge is made, the uplink enslaved, IPv4 moved with its routes,
    # and then the IPv6 address cannot be added to the bridge.
    h.run("sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1", check=True)
    before = ip_state(h)
    r = vm("net", "bridge", BRIDGE, "--uplink", UPLINK)
    assert r.returncode == 1
    [first, *rest] = r.stderr.strip().splitlines()
    assert first == (
        f"vmrun: error: cannot add {V6} to {BRIDGE}: ipv6: IPv6 is disabled on this device; "
        f"{UPLINK} has its addresses and routes back"
    )
    assert rest == []
    assert h.run("ip", "link", "show", BRIDGE).returncode != 0
    assert "master" not in h.run("ip", "link", "show", UPLINK).stdout
    assert ip_state(h) == before
    for target in ("192.168.77.1", FAR, "[2001:db8:77::1]"):
        reach(h, target)


def test_refusals_before_anything_is_made(vm, netns):
    netns.ip("link", "add", "nic0", "type", "veth", "peer", "name", "nic0peer")
    netns.ip("link", "add", "nic1", "type", "veth", "peer", "name", "nic1peer")
    netns.ip("link", "set", "nic1", "up")
    netns.ip(
        "route",
        "add",
        "10.20.0.0/16",
        "nexthop",
        "via",
        "10.1.0.1",
        "dev",
        "nic1",
        "onlink",
        "nexthop",
        "via",
        "10.1.0.2",
        "dev",
        "nic1",
        "onlink",
    )
    before = netns.run("ip", "-o", "link").stdout
    cases = {
        ("br9", "--uplink", "nosuch0"): "there is no network interface 'nosuch0'",
        ("br9", "--uplink", "nic1"): "nic1 carries multipath or encapsulated routes vmrun does not move: 10.20.0.0/16",
        ("lo", "--uplink", "nic0"): "there is an interface named 'lo' already",
        (
            "a-name-that-is-too-long",
            "--uplink",
            "nic0",
        ): "BRIDGE: 'a-name-that-is-too-long' is not a network interface name",
        ("br9", "--print-config", "nmcli"): "--print-config needs --uplink",
        (
            "br9",
            "--uplink",
            "nic0",
            "--print-config",
            "ifupdown",
        ): "--print-config: 'ifupdown' is not one of nmcli | networkd",
    }
    for args, message in cases.items():
        r = vm("net", "bridge", *args)
        assert r.returncode == 2, (args, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert lines[0].startswith(f"vmrun: error: {message}") and len(lines) <= 2, r.stderr
    assert netns.run("ip", "-o", "link").stdout == before


def test_bridge_without_uplink(vm, netns):
    r = vm("net", "bridge", "hostonly0")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "hostonly0: bridge made, with no uplink"
    assert netns.run("test", "-d", "/sys/class/net/hostonly0/bridge").returncode == 0
    flags = netns.run("ip", "-o", "link", "show", "hostonly0").stdout.split("<")[1].split(">")[0].split(",")
    assert "UP" in flags


def bare(networks: str, nics: str = "") -> str:
    return f'name = "bare"\naccel = "tcg"\nmemory = "64M"\n{networks}\n{nics}'


def test_profile_networks_are_made_at_up_and_left_at_down(vm, write_profile):
    """The NIC's preflight needs the bridge: it must exist by then. `down` leaves it, a second `up` reuses it."""
    path = write_profile(
        bare(
            '[[networks]]\nname = "pbr0"\nkind = "bridge"\n',
            '[[nics]]\nid = "n0"\ntype = "bridge"\nbridge = "pbr0"\nvia = "tap"\n',
        )
    )
    r = vm("up", str(path))
    assert r.returncode == 0, r.stderr
    assert (
        "vmrun: pbr0: bridge made, with no uplink; it stays after `vmrun down` (host set-up, not part of the VM)"
        in r.stderr
    )
    assert vm.netns.run("ls", "/sys/class/net/pbr0/brif").stdout.split() == ["vr-bare-n0"]
    assert vm("down", "bare", "--force").returncode == 0
    assert vm.netns.run("ls", "/sys/class/net/pbr0/brif", check=True).stdout.split() == []

    r = vm("up", str(path))
    assert r.returncode == 0, r.stderr
    assert "pbr0" not in r.stderr
    assert vm("down", "bare", "--force").returncode == 0


def test_a_profile_network_that_cannot_be_made_stops_up_in_one_line(vm, write_profile):
    path = write_profile(bare('[[networks]]\nname = "lo"\nkind = "bridge"\n'))
    r = vm("up", str(path))
    assert r.returncode == 2
    assert r.stderr.strip() == f"vmrun: error: {path}: networks[0]: lo exists and is not a Linux bridge"
    assert not (vm.runtime_dir / "bare").exists()
