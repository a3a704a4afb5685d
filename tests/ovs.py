"""Open vSwitch for a test: ovsdb-server and ovs-vswitchd started by hand inside the
test's namespace, all their files in one private folder, userspace (netdev) datapath.

There is no systemd and no OVS kernel module here; the daemons find each other,
and vmrun finds them, through the ``OVS_*DIR`` variables in :attr:`Ovs.env`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.conftest import Netns

SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"


class Ovs:
    def __init__(self, ns: Netns) -> None:
        self.ns = ns
        # Short: OVS puts unix sockets here (db.sock, BR.mgmt), and sun_path holds 108 bytes.
        self.dir = Path(tempfile.mkdtemp(prefix="vmrun-ovs-"))
        self.env = {
            **os.environ,
            "OVS_RUNDIR": str(self.dir),
            "OVS_DBDIR": str(self.dir),
            "OVS_LOGDIR": str(self.dir),
            "OVS_SYSCONFDIR": str(self.dir),
        }
        self.daemons: list[subprocess.Popen] = []

    def start(self, *, switch: bool = True) -> None:
        if not (self.dir / "conf.db").exists():  # else started again after stop(keep=True): same ports
            subprocess.run(["ovsdb-tool", "create", str(self.dir / "conf.db"), SCHEMA], check=True, env=self.env)
        self._daemon(
            "ovsdb-server",
            str(self.dir / "conf.db"),
            f"--remote=punix:{self.dir / 'db.sock'}",
            "--remote=db:Open_vSwitch,Open_vSwitch,manager_options",
        )
        self._wait_for(self.dir / "db.sock")
        self.vsctl("--no-wait", "init")
        if not switch:
            return
        self._daemon(f"unix:{self.dir / 'db.sock'}", program="ovs-vswitchd")
        self._wait_for(self.dir / "ovs-vswitchd.pid")

    def _daemon(self, *args: str, program: str | None = None) -> None:
        prog = program or args[0]
        argv = [prog, *(args if program else args[1:])]
        log = self.dir / f"{prog}.log"
        self.daemons.append(
            self.ns.popen(
                *argv,
                f"--pidfile={self.dir / prog}.pid",
                f"--log-file={log}",
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

    def _wait_for(self, path: Path, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not path.exists():
            for d in self.daemons:
                if d.poll() is not None:
                    raise AssertionError(f"{d.args} exited with {d.returncode}: {self.logs()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{path} did not appear: {self.logs()}")
            time.sleep(0.05)

    def vsctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        r = self.ns.run("ovs-vsctl", "--timeout=10", *args, env=self.env)
        if check and r.returncode != 0:
            raise AssertionError(f"ovs-vsctl {' '.join(args)}: {r.stderr}")
        return r

    def bridge(self, name: str, *ports: str) -> str:
        """A userspace-datapath bridge with ``ports`` (e.g. the LAN's uplink) on it."""
        self.vsctl("add-br", name, "--", "set", "bridge", name, "datapath_type=netdev")
        for port in ports:
            self.vsctl("add-port", name, port)
        self.ns.ip("link", "set", name, "up")
        return name

    def ports(self, bridge: str) -> list[str]:
        return self.vsctl("list-ports", bridge).stdout.split()

    def logs(self) -> str:
        return "\n".join(p.read_text()[-1500:] for p in sorted(self.dir.glob("*.log")))

    def stop(self, *, keep: bool = False) -> None:
        """vswitchd first (it holds the ports), then the database; then the folder goes, unless ``keep``
        (OVS stopped as a host's would be: start() brings it back with its ports)."""
        for d in reversed(self.daemons):
            if d.poll() is None:
                d.terminate()
                try:
                    d.wait(10)
                except subprocess.TimeoutExpired:
                    d.kill()
                    d.wait()
        self.daemons.clear()
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


_TX_CSUM_OFF = """
import sys
from pyroute2.ethtool import Ethtool
with Ethtool() as e:
    f = e.get_features(sys.argv[1])
    f.features["tx-checksum-ip-generic"].enable = False
    e.set_features(sys.argv[1], f)
"""


def complete_checksums(ns: Netns, ifname: str) -> None:
    """``ethtool -K IFNAME tx off``, inside ``ns``.

    A kernel sender (dnsmasq, curl) on a veth leaves checksums for the hardware to fill in;
    OVS 3.1's userspace datapath forwards such frames from its packet socket as they are, and
    the guest drops them. On a real LAN the frames come off the wire complete.
    """
    r = ns.run(sys.executable, "-c", _TX_CSUM_OFF, ifname)
    if r.returncode != 0:
        raise AssertionError(f"cannot turn off tx checksum offload on {ifname}: {r.stderr}")
