"""virtlogd and libvirtd started inside a test's network namespace, and everything they made removed after.

Started there, libvirt's bridges, its dnsmasq and its NAT rules live in the
namespace and die with it. The daemons themselves are system daemons with
fixed sockets and pid files under /run, so only one set may run on the
machine: a lock file serialises tests (and test runs) that start them.

    with Libvirtd(netns) as lv:
        lv.nat_network("vmrtest", "vmrbr0", "192.168.150")   # defined and started
        ... lv.leases("vmrtest") ...
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import time
from pathlib import Path

from tests.conftest import Netns

RUN = Path("/run/libvirt")
PID_FILES = {"libvirtd": Path("/run/libvirtd.pid"), "virtlogd": Path("/run/virtlogd.pid")}
SOCKET = RUN / "libvirt-sock"
DNSMASQ_STATE = Path("/var/lib/libvirt/dnsmasq")
LOCK = Path("/run/lock/vmrun-test-libvirtd.lock")
URI = "qemu:///system"


def _pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


def _stop(pid: int, timeout: float = 10) -> None:
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not _alive(pid):
            return
    raise RuntimeError(f"pid {pid} survived SIGKILL")


class LibvirtdLock:
    """Held while daemons run, and by tests that need libvirtd not to run."""

    def __init__(self) -> None:
        self.fd: int | None = None

    def __enter__(self) -> LibvirtdLock:
        LOCK.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        running = {name: pid for name, path in PID_FILES.items() if (pid := _pid(path))}
        if running:
            self.__exit__()
            raise RuntimeError(f"{running} already run on this machine; tests start their own libvirtd")
        return self

    def __exit__(self, *_: object) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class Libvirtd:
    def __init__(self, netns: Netns) -> None:
        self.netns = netns
        self.lock = LibvirtdLock()
        self.had_run_dir = RUN.exists()
        self.had_dnsmasq_dir = DNSMASQ_STATE.exists()
        self.networks: dict[str, str] = {}  # name: bridge
        self.conn = None

    def __enter__(self) -> Libvirtd:
        self.lock.__enter__()
        try:
            self.had_run_dir = RUN.exists()
            self.had_dnsmasq_dir = DNSMASQ_STATE.exists()
            # libvirtd logs domain output through virtlogd: it must be up first.
            self.netns.run("virtlogd", "-d", check=True, timeout=30)
            self.netns.run("libvirtd", "-d", check=True, timeout=60)
            self.conn = self._connect()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _connect(self, timeout: float = 30):
        import libvirt

        libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
        deadline = time.monotonic() + timeout
        while True:
            try:
                return libvirt.open(URI)
            except libvirt.libvirtError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def nat_network(self, name: str, bridge: str, prefix: str, *, start: bool = True):
        """A persistent NAT network ``PREFIX.1/24`` with DHCP on ``PREFIX.100-200``; started unless told not."""
        xml = (
            f"<network><name>{name}</name><forward mode='nat'/>"
            f"<bridge name='{bridge}' stp='off' delay='0'/>"
            f"<ip address='{prefix}.1' netmask='255.255.255.0'>"
            f"<dhcp><range start='{prefix}.100' end='{prefix}.200'/></dhcp></ip></network>"
        )
        net = self.conn.networkDefineXML(xml)
        self.networks[name] = bridge
        if start:
            net.create()
        return net

    def leases(self, name: str) -> list[dict]:
        return self.conn.networkLookupByName(name).DHCPLeases()

    def lease_of(self, name: str, mac: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for lease in self.leases(name):
                if lease["mac"].lower() == mac.lower():
                    return lease["ipaddr"]
            time.sleep(0.5)
        raise AssertionError(f"libvirt's dnsmasq gave {mac} no lease on {name} within {timeout} s")

    def __exit__(self, *_: object) -> None:
        try:
            self._remove_networks()
            for name in ("libvirtd", "virtlogd"):
                if pid := _pid(PID_FILES[name]):
                    _stop(pid)
            self._remove_files()
        finally:
            self.lock.__exit__()

    def _remove_networks(self) -> None:
        if self.conn is None:
            return
        import libvirt

        for name in self.networks:
            try:
                net = self.conn.networkLookupByName(name)
            except libvirt.libvirtError:
                continue
            if net.isActive():
                net.destroy()  # stops its dnsmasq and removes its bridge and NAT rules
            if net.isPersistent():
                net.undefine()
        self.conn.close()
        self.conn = None

    def _remove_files(self) -> None:
        """What a stopped libvirtd leaves that could confuse the next start; the folders, if we made them."""
        if not self.had_run_dir:
            shutil.rmtree(RUN, ignore_errors=True)
        else:
            for name in self.networks:
                for f in (RUN / "network").glob(f"{name}.*"):
                    f.unlink(missing_ok=True)
        for path in PID_FILES.values():
            if path.exists() and _pid(path) is None:
                path.unlink(missing_ok=True)
        if not self.had_dnsmasq_dir:
            shutil.rmtree(DNSMASQ_STATE, ignore_errors=True)
        else:
            for name, bridge in self.networks.items():
                for f in [*DNSMASQ_STATE.glob(f"{name}.*"), DNSMASQ_STATE / f"{bridge}.status"]:
                    f.unlink(missing_ok=True)

    def daemon_pids(self) -> list[int]:
        """libvirtd, virtlogd or dnsmasq still alive in the namespace."""
        return [p for p in self.netns.pids() if _comm(p) in ("libvirtd", "virtlogd", "dnsmasq")]


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"
