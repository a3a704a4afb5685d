"""Two libvirt "hosts" on this machine (tests/libvirt_hosts.py): they start, answer, leave nothing,
and live-migrate the tiny guest between them while the LAN keeps reaching it over HTTP."""

from __future__ import annotations

import ctypes
import http.client
import os
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.libvirt_hosts import MOUNTS, LibvirtHost, two_hosts

pytestmark = [pytest.mark.root, pytest.mark.guest]

GUEST, MAC = "lvh-guest", "52:54:00:99:00:01"


@pytest.fixture(autouse=True)
def _root():
    from tests.conftest import need_root

    need_root()


def snapshot() -> dict[str, tuple]:
    """The real libvirt folders: every path with its type, mode, size and mtime."""
    found: dict[str, tuple] = {}
    for top in MOUNTS.values():
        found[top] = ("exists", os.path.isdir(top))
        for dirpath, dirs, files in os.walk(top):
            for name in dirs + files:
                path = os.path.join(dirpath, name)
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                found[path] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return found


def system_daemon_activity() -> list[str]:
    """Signs that tests/libvirtd.py's system daemon runs (in another test): its lock is held (seen in
    /proc/locks, without taking it) or a libvirtd/virtlogd runs in the real folders' mount namespace tree
    (any libvirtd whose /run/libvirt is not one of ours: ours all run in private mount namespaces)."""
    from tests.libvirtd import LOCK

    found = []
    try:
        inode = os.stat(LOCK).st_ino
        if any(
            line.split()[5].endswith(f":{inode}")
            for line in Path("/proc/locks").read_text().splitlines()
            if len(line.split()) > 5
        ):
            found.append("lock")
    except OSError:
        pass
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() not in ("libvirtd", "virtlogd"):
                continue
            mounts = Path(f"/proc/{pid}/mountinfo").read_text()
        except OSError:
            continue
        if " /run/libvirt " not in mounts:  # ours have /run/libvirt as a mount point
            found.append(pid)
    return found


class SystemDaemonWatch(threading.Thread):
    """Notes, every 0.1 s while a test runs, whether the system daemon of tests/libvirtd.py ran."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.seen: set[str] = set()
        self.stopping = threading.Event()

    def __enter__(self) -> SystemDaemonWatch:
        self.seen.update(system_daemon_activity())
        self.start()
        return self

    def run(self) -> None:
        while not self.stopping.wait(0.1):
            self.seen.update(system_daemon_activity())

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        self.join(5)
        self.seen.update(system_daemon_activity())


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


def netns_names() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()[19]


class Record:
    """What a host had while it ran (processes by pid and start time), to prove afterwards that none
    of it is left. (Not by namespace inode: the kernel reuses those at once for new namespaces.)"""

    def __init__(self, host: LibvirtHost) -> None:
        self.name = host.name
        self.pids = {p: start_time(p) for p in host.processes()}
        self.comms = {p: Path(f"/proc/{p}/comm").read_text().strip() for p in self.pids}
        self.netns = host.netns.name
        self.root = host.root

    def assert_gone(self) -> None:
        left = [self.comms[p] for p, t in self.pids.items() if alive(p) and start_time(p) == t]
        assert left == [], f"processes of host {self.name} survived: {left}"
        assert self.netns not in netns_names()
        assert not self.root.exists(), f"{self.root} was not removed"


def assert_real_dirs_untouched(before: dict, after: dict, foreign: set[str]) -> None:
    changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    if foreign:
        # tests/libvirtd.py's system daemon ran meanwhile (another test) and changes these folders
        # itself: check only that nothing of ours is among the changes, and that the two config
        # files we write our copies of are the same.
        assert [p for p in changed if GUEST in p or "vmrun-lvh" in p] == [], changed
        assert [p for p in changed if p in ("/etc/libvirt/libvirtd.conf", "/etc/libvirt/qemu.conf")] == []
        return
    assert changed == [], f"the real libvirt folders changed: {changed[:20]}"


def test_two_hosts_start_answer_and_leave_nothing(tmp_path: Path):
    with SystemDaemonWatch() as foreign:
        before = snapshot()
        t0 = time.monotonic()
        hosts, records, lan_ns = start_and_check(tmp_path, t0)
        after = snapshot()
    assert hosts.leftovers == {"A": [], "B": []}, "processes had to be killed with a host's namespace"
    for r in records:
        r.assert_gone()
    assert lan_ns not in netns_names() and hosts.lan.dnsmasq.poll() is not None
    assert not hosts.shared.exists()
    print(f"system libvirtd of another test seen meanwhile: {sorted(foreign.seen) or 'no'}")
    assert_real_dirs_untouched(before, after, foreign.seen)


def start_and_check(tmp_path: Path, t0: float):
    with two_hosts(tmp_path) as hosts:
        started = time.monotonic() - t0
        a, b = hosts.a, hosts.b
        print(f"\nboth hosts up in {started:.2f} s (A {a.timings['start']:.2f} s, B {b.timings['start']:.2f} s)")
        for h in (a, b):
            assert h.timings["start"] < 10, h.timings
            version = h.virsh("version").stdout
            assert "Running hypervisor: QEMU" in version, version
            caps = ET.fromstring(h.virsh("capabilities").stdout)
            assert caps.findtext("host/uuid") == h.host_uuid
            x86 = [g for g in caps.findall("guest") if g.find("arch").get("name") == "x86_64"]
            assert x86, "no x86_64 guest in the capabilities"
            assert {d.get("type") for g in x86 for d in g.findall("arch/domain")} == {"qemu"}  # TCG only
            assert h.conn.listAllNetworks() == [] and h.conn.listAllDomains() == []
            # Inside the host, /run/libvirt is the host's own folder.
            assert h.run("cat", "/run/libvirt/libvirtd.pid", check=True).stdout.strip() == str(h.pids["libvirtd"])
            assert h.socket.is_socket()
        assert a.host_uuid != b.host_uuid
        # Each daemon listens on TCP for the other one (not on the test's namespaces).
        for src, dst in ((a, b), (b, a)):
            r = src.run("virsh", "-c", dst.tcp_uri, "hostname", timeout=30)
            assert r.returncode == 0, r.stderr
        records = [Record(a), Record(b)]
        for r in records:
            assert {"libvirtd", "virtlogd", "python"} <= set(r.comms.values()), r.comms
        lan_ns = hosts.lan.ns.name
    return hosts, records, lan_ns


CLONE_NEWNET = 0x40000000


class HttpProbe(threading.Thread):
    """GETs ``url`` every ``interval`` s from inside a network namespace (setns on this thread only)."""

    def __init__(self, netns: str, address: str, interval: float = 0.05, timeout: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.netns, self.address, self.interval, self.timeout = netns, address, interval, timeout
        self.results: list[tuple[float, bool, str]] = []  # (time the answer came, ok, body or error)
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(f"/run/netns/{self.netns}", os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns")
            finally:
                os.close(fd)
            while not self.stopping.is_set():
                start = time.monotonic()
                self.results.append(self.get())
                self.stopping.wait(max(0.0, start + self.interval - time.monotonic()))
        except BaseException as e:  # noqa: BLE001 - reported by the test
            self.error = e

    def get(self) -> tuple[float, bool, str]:
        conn = http.client.HTTPConnection(self.address, 80, timeout=self.timeout)
        try:
            conn.request("GET", "/cgi-bin/ip")
            resp = conn.getresponse()
            body = resp.read().decode(errors="replace")
            return time.monotonic(), resp.status == 200, body
        except OSError as e:
            return time.monotonic(), False, repr(e)
        finally:
            conn.close()

    def stop(self) -> None:
        self.stopping.set()
        self.join(10)
        if self.error:
            raise self.error

    def longest_gap(self, since: float = 0.0) -> float:
        ok = [t for t, good, _ in self.results if good and t >= since]
        return max((b - a for a, b in zip(ok, ok[1:])), default=float("inf"))


def guest_xml(kernel: Path, initrd: Path) -> str:
    return f"""<domain type='qemu'>
  <name>{GUEST}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>console=ttyS0 quiet panic=-1</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <interface type='bridge'>
      <mac address='{MAC}'/>
      <source bridge='br0'/>
      <model type='virtio'/>
    </interface>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
  </devices>
</domain>"""


def qemus(host: LibvirtHost) -> list[int]:
    return [p for p in host.processes() if Path(f"/proc/{p}/comm").read_text().startswith("qemu")]


@pytest.mark.parametrize("how", ["migrateToURI3-p2p", "migrate3"])
def test_live_migration_keeps_the_guest_reachable(tmp_path: Path, test_guest: Path, how: str):
    with SystemDaemonWatch() as foreign:
        before = snapshot()
        hosts, records = migrate_and_check(tmp_path, test_guest, how)
        after = snapshot()
    assert hosts.leftovers == {"A": [], "B": []}, "processes had to be killed with a host's namespace"
    for r in records:
        r.assert_gone()
    assert hosts.lan.ns.name not in netns_names() and hosts.lan.dnsmasq.poll() is not None
    assert not hosts.shared.exists()
    assert_real_dirs_untouched(before, after, foreign.seen)


def migrate_and_check(tmp_path: Path, test_guest: Path, how: str):
    import libvirt

    with two_hosts(tmp_path) as hosts:
        a, b, lan = hosts.a, hosts.b, hosts.lan
        # Copies: libvirt-qemu cannot read /root/.cache, and libvirt relabels what it gives QEMU.
        xml = guest_xml(hosts.share(test_guest / "vmlinuz"), hosts.share(test_guest / "initrd.img"))
        (tmp_path / "guest.xml").write_text(xml)
        t = time.monotonic()
        r = a.virsh("create", str(tmp_path / "guest.xml"), check=False, timeout=120)
        created = time.monotonic() - t
        assert r.returncode == 0, r.stderr
        dom = a.conn.lookupByName(GUEST)
        guest_pids = qemus(a)
        assert len(guest_pids) == 1 and qemus(b) == []
        records = [Record(a), Record(b)]  # daemons, helpers, QEMU on A
        address = lan.lease_of(MAC, timeout=90)
        leased = time.monotonic() - t
        assert f"inet {address}/" in lan.http(address, timeout=60)
        answered = time.monotonic() - t
        print(f"\ncreate {created:.2f} s, lease {leased:.1f} s, HTTP {answered:.1f} s after create; guest {address}")

        probe = HttpProbe(lan.ns.name, address)
        probe.start()
        try:
            time.sleep(1.0)
            t_mig = time.monotonic()
            if how == "migrateToURI3-p2p":
                # A's libvirtd connects to B's over TCP (10.99.0.2) itself.
                dom.migrateToURI3(b.tcp_uri, {}, libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PEER2PEER)
            else:
                # This process drives both daemons (B through its unix socket); QEMU's stream goes
                # to B's migration_host.
                dom.migrate3(b.conn, {}, libvirt.VIR_MIGRATE_LIVE)
            migrated = time.monotonic() - t_mig
            time.sleep(2.0)
        finally:
            probe.stop()
        gap = probe.longest_gap()
        fails = sum(1 for _, good, _ in probe.results if not good)
        print(
            f"{how}: migration {migrated:.2f} s; {len(probe.results)} probes, {fails} failed, "
            f"longest gap between answers {gap:.2f} s"
        )
        ok = [(tm, body) for tm, good, body in probe.results if good]
        assert ok and ok[0][0] < t_mig, "the guest did not answer before the migration"
        assert ok[-1][0] > t_mig + migrated, "the guest did not answer after the migration"
        assert all(f"inet {address}/" in body for _, body in ok), "the guest's address changed"
        assert gap < 3.0, f"HTTP was down {gap:.2f} s"

        assert a.conn.listAllDomains() == []
        assert qemus(a) == [] and not alive(guest_pids[0])
        on_b = b.conn.lookupByName(GUEST)
        assert on_b.state()[0] == libvirt.VIR_DOMAIN_RUNNING
        records.append(Record(b))  # with the QEMU on B
        assert "qemu-system-x86" in records[-1].comms.values()
        assert f"inet {address}/" in lan.http(address, timeout=10)  # answers from B
        on_b.destroy()
        assert b.conn.listAllDomains() == []
        assert qemus(b) == []
    return hosts, records


def test_a_failing_test_leaves_nothing(tmp_path: Path, test_guest: Path):
    """An exception inside ``two_hosts`` while a guest runs: all of it is still removed."""
    with pytest.raises(RuntimeError, match="the test failed"), two_hosts(tmp_path) as hosts:
        xml = guest_xml(hosts.share(test_guest / "vmlinuz"), hosts.share(test_guest / "initrd.img"))
        hosts.a.conn.createXML(xml, 0)
        records = [Record(hosts.a), Record(hosts.b)]
        assert "qemu-system-x86" in records[0].comms.values()
        raise RuntimeError("the test failed")
    assert hosts.leftovers == {"A": [], "B": []}  # libvirt destroyed the guest before the namespace went
    for r in records:
        r.assert_gone()
    assert hosts.lan.ns.name not in netns_names() and not hosts.shared.exists()


KILLED = """
import sys, time
sys.path.insert(0, sys.argv[1])
from tests.libvirt_hosts import LibvirtHost
host = LibvirtHost("K")
host.create()
host.start()
print(host.netns.name, host.root, *host.processes(), flush=True)
time.sleep(600)
"""


def test_a_killed_test_process_is_cleaned_up(tmp_path: Path):
    """SIGKILL of the test process: its helpers stop the daemons at once; ``sweep_stale`` (run by the
    next host's ``create``) removes its namespace and folder."""
    from tests.conftest import REPO
    from tests.libvirt_hosts import sweep_stale

    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(REPO)], stdout=subprocess.PIPE, text=True)
    try:
        name, root, *pids = proc.stdout.readline().split()
    finally:
        proc.kill()
        proc.wait()
    pids = {int(p): start_time(int(p)) for p in pids}
    assert len(pids) == 3  # helper, virtlogd, libvirtd
    deadline = time.monotonic() + 10
    while [p for p, t in pids.items() if alive(p) and start_time(p) == t] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [p for p, t in pids.items() if alive(p) and start_time(p) == t] == []
    # Left for the next start to sweep (or another test run's, which may have swept it already).
    removed = sweep_stale()
    assert name not in netns_names() and not Path(root).exists(), removed
