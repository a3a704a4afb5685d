"""A test "LAN": a second namespace joined to the test's host namespace by a veth pair,
with dnsmasq serving DHCP on it. Guests reached through a bridge, macvtap or OVS
on the host side lease addresses from it; tests talk to them from the LAN side.

    host namespace (vmrun, QEMU)            LAN namespace
        uplink (veth) <--------------------> lan (veth) 192.168.77.1/24, dnsmasq
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from tests.conftest import Netns

SUBNET = "192.168.77"


class Lan:
    def __init__(self, host: Netns, tmp: Path, uplink: str = "uplink0") -> None:
        self.host = host
        self.ns = Netns()
        self.tmp = tmp
        self.uplink = uplink
        self.leases = tmp / "dnsmasq.leases"
        self.dnsmasq: subprocess.Popen | None = None

    def create(self) -> None:
        self.ns.create()
        subprocess.run(
            [
                "ip",
                "-n",
                self.host.name,
                "link",
                "add",
                self.uplink,
                "type",
                "veth",
                "peer",
                "name",
                "lan",
                "netns",
                self.ns.name,
            ],
            check=True,
        )
        self.host.ip("link", "set", self.uplink, "up")
        self.ns.ip("addr", "add", f"{SUBNET}.1/24", "dev", "lan")
        self.ns.ip("link", "set", "lan", "up")
        self.start_dnsmasq()

    def start_dnsmasq(self) -> None:
        """DHCP on the LAN namespace's ``lan`` interface, leases in the test's folder."""
        self.leases.touch()
        self.dnsmasq = self.ns.popen(
            "dnsmasq",
            "--keep-in-foreground",
            "--no-daemon",
            "--port=0",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            "--interface=lan",
            "--except-interface=lo",
            f"--dhcp-range={SUBNET}.100,{SUBNET}.150,255.255.255.0,1h",
            f"--dhcp-leasefile={self.leases}",
            f"--pid-file={self.tmp / 'dnsmasq.pid'}",
            "--log-dhcp",
            f"--log-facility={self.tmp / 'dnsmasq.log'}",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def bridge(self, name: str = "br0") -> str:
        """A Linux bridge in the host namespace with the uplink as its port."""
        self.host.ip("link", "add", name, "type", "bridge")
        self.host.ip("link", "set", self.uplink, "master", name)
        self.host.ip("link", "set", name, "up")
        return name

    def lease_of(self, mac: str, timeout: float = 90) -> str:
        """The address dnsmasq gave ``mac``; waits for it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.leases.read_text().splitlines():
                fields = line.split()
                if len(fields) >= 3 and fields[1].lower() == mac.lower():
                    return fields[2]
            time.sleep(0.5)
        log = (self.tmp / "dnsmasq.log").read_text() if (self.tmp / "dnsmasq.log").exists() else ""
        raise AssertionError(f"no DHCP lease for {mac} within {timeout} s; dnsmasq log:\n{log[-2000:]}")

    def http(self, address: str, path: str = "/cgi-bin/ip", timeout: float = 60) -> str:
        """GET from the LAN side, retried until the guest answers."""
        return self.ns.http(f"http://{address}{path}", timeout)

    def destroy(self) -> None:
        if self.dnsmasq:
            self.dnsmasq.kill()
            self.dnsmasq.wait()
        self.ns.destroy()
