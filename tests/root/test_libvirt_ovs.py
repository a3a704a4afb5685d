"""An Open vSwitch NIC on the libvirt engine: host A of ``two_hosts`` runs OVS (userspace datapath,
there is no OVS kernel module here) and its libvirtd plugs the guest's tap into bridge ``ovsbr0``
itself (``<virtualport type='openvswitch'/>``: libvirtd calls ovs-vsctl), whose port ``uplink1``
is a veth to the shared LAN.

    host A netns + mount ns                                  LAN netns
      libvirtd --ovs-vsctl--> /run/openvswitch/db.sock         bridge "lan" 192.168.77.1/24, dnsmasq
      ovsbr0 (netdev) -- vnetN (the guest) , uplink1 <------->  lan-ovs (port of "lan")

The daemons run in A's netns with their files in a folder of their own (tests/ovs.py); that folder
is bind-mounted on /run/openvswitch in A's private mount namespace, where libvirtd's ovs-vsctl looks.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from tests.conftest import vmrun_bin
from tests.lan import SUBNET
from tests.libvirt_hosts import two_hosts
from tests.ovs import Ovs, complete_checksums

pytestmark = [pytest.mark.root, pytest.mark.guest]

MAC = "52:54:00:98:07:01"


def test_ovs_nic_on_libvirt_leases_answers_and_leaves_nothing(tmp_path, test_guest):
    t0 = time.monotonic()
    timings: dict[str, float] = {}
    with two_hosts(tmp_path / "hosts") as hosts:
        timings["hosts"] = time.monotonic() - t0
        a, lan = hosts.a, hosts.lan
        kernel, initrd = hosts.share(test_guest / "vmlinuz"), hosts.share(test_guest / "initrd.img")

        # The uplink: a veth from A to the LAN's bridge, checksums completed on both sides (the
        # userspace datapath forwards frames whose checksum was left to the hardware as they are).
        subprocess.run(
            [
                "ip",
                "-n",
                a.netns.name,
                "link",
                "add",
                "uplink1",
                "type",
                "veth",
                "peer",
                "name",
                "lan-ovs",
                "netns",
                lan.ns.name,
            ],
            check=True,
        )
        lan.ns.ip("link", "set", "lan-ovs", "master", "lan")
        lan.ns.ip("link", "set", "lan-ovs", "up")
        a.netns.ip("link", "set", "uplink1", "up")
        for ns, link in ((lan.ns, "lan"), (lan.ns, "lan-ovs"), (a.netns, "uplink1")):
            complete_checksums(ns, link)

        ovs = Ovs(a.netns)
        daemons: list[subprocess.Popen] = []
        try:
            t = time.monotonic()
            ovs.start()
            daemons = list(ovs.daemons)
            a.run("mkdir", "-p", "/run/openvswitch", check=True)  # on A's private /run tmpfs
            a.run("mount", "--bind", str(ovs.dir), "/run/openvswitch", check=True)
            ovs.bridge("ovsbr0", "uplink1")
            # What libvirtd will see: the same database, through the default path.
            seen = a.run("ovs-vsctl", "--timeout=10", "list-ports", "ovsbr0", check=True).stdout.split()
            assert seen == ["uplink1"]
            timings["ovs"] = time.monotonic() - t

            # The client on A reaches the same OVS through OVS_RUNDIR, as ovs-vsctl would on a host
            # with OVS in its default place: vmrun asks it for the bridge's datapath.
            env = {**os.environ, "VMRUN_RUNTIME_DIR": str(tmp_path / "client-run"), "OVS_RUNDIR": str(ovs.dir)}
            env.pop("VMRUN_CONNECT", None)

            def vmrun(*args: str):
                return a.netns.run(vmrun_bin(), *args, env=env, timeout=300)

            profile = tmp_path / "g.toml"
            profile.write_text(
                f'name = "g"\naccel = "tcg"\nmemory = "256M"\nkernel = "{kernel}"\ninitrd = "{initrd}"\n'
                'append = "console=ttyS0 quiet panic=-1"\nextra_args = ["-no-reboot"]\n'
                f'[[nics]]\nid = "net0"\ntype = "ovs"\nbridge = "ovsbr0"\nmac = "{MAC}"\n'
            )
            t = time.monotonic()
            r = vmrun("up", str(profile), "-c", a.uri)
            assert r.returncode == 0, r.stderr
            timings["up"] = time.monotonic() - t
            xml = a.conn.lookupByName("g").XMLDesc(0)
            assert "<virtualport type='openvswitch'>" in xml and "<source bridge='ovsbr0'/>" in xml
            assert "<host csum='off'/>" in xml  # a userspace-datapath bridge: no checksum offload
            ports = ovs.ports("ovsbr0")
            [tap] = [p for p in ports if p != "uplink1"]
            assert ovs.vsctl("get", "interface", tap, "external-ids:attached-mac").stdout.strip().strip('"') == MAC

            t = time.monotonic()
            address = lan.lease_of(MAC)
            timings["lease"] = time.monotonic() - t
            assert address.startswith(f"{SUBNET}.")
            t = time.monotonic()
            assert f"inet {address}/24" in lan.http(address)
            timings["http"] = time.monotonic() - t

            t = time.monotonic()
            r = vmrun("down", "g", "-c", a.uri)
            assert r.returncode == 0, r.stderr
            timings["down"] = time.monotonic() - t
            assert a.conn.listAllDomains(0) == []
            assert ovs.ports("ovsbr0") == ["uplink1"]
            assert tap not in a.netns.run("ip", "-o", "link").stdout
        finally:
            ovs.stop()
        assert daemons and all(d.poll() is not None for d in daemons)  # stopped by the test
        assert not ovs.dir.exists()
        for host in (hosts.a, hosts.b):
            assert host.conn.listAllDomains(0) == [], f"domains left on {host.name}"
    assert hosts.leftovers == {"A": [], "B": []}
    assert not os.path.exists(f"/run/netns/{a.netns.name}") and not os.path.exists(f"/run/netns/{lan.ns.name}")
    timings["total"] = time.monotonic() - t0
    print("\ntimings: " + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()))
