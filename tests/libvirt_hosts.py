"""Several libvirt "hosts" on one machine, for tests that need more than one libvirtd (live migration).

A host is a network namespace (``tests.conftest.Netns``) plus a private mount namespace in which
virtlogd and libvirtd run with their own folders bind-mounted over the system ones:

    /run            a tmpfs (so /run/libvirt can be a mount point even where the real one is absent)
    /run/libvirt        <- ROOT/run    (libvirt-sock, libvirtd.pid, virtlogd.pid, ...)
    /etc/libvirt        <- ROOT/etc    (copy of the real one: own host_uuid, TCP listen, migration address)
    /var/lib/libvirt    <- ROOT/lib
    /var/log/libvirt    <- ROOT/log
    /var/cache/libvirt  <- ROOT/cache  (QEMU capability cache, seeded so the start is fast)
    /dev/kvm            <- ROOT/no-kvm (an empty root-only file: libvirt offers TCG only, see below)

Why not /dev/null over /dev/kvm: libvirt then finds /dev/kvm accessible to libvirt-qemu ("usable")
while QEMU's probe finds no KVM in it, and throws its capability cache away on every lookup (its
debug log: "KVM was not enabled when probing ..., but it should be usable now"; ~1 s per call here).
A root-only file is neither usable nor a KVM: the cache stays valid. And qemu.conf gets
``namespaces = [ ]``: with a /dev of its own for QEMU, libvirt tries to move the mount on /dev/kvm
into it and domain start fails ("Unable to move ....kvm mount to /dev/kvm: Invalid argument").

ROOT is a short folder in /tmp (``/tmp/vmrun-lvh-*``: unix socket paths are limited to 108 bytes),
removed on stop. One long-lived helper process (``ip netns exec NS unshare -m --propagation private
python -c HELPER``) makes the mounts, starts the daemons, is their subreaper (so nothing turns into a
zombie under this machine's non-reaping PID 1) and, should the test process die, kills them when its
stdin closes. Nothing touches the real /run/libvirt, /etc/libvirt ..., nor tests/libvirtd.py's lock
or pid files: both kinds of daemon can run at once.

    with LibvirtHost("A") as a:                  # a netns with only lo; no address: no TCP listener
        a.conn.getCapabilities()                 # libvirt-python connection, from the test's namespaces
        virsh -c a.uri list                       # qemu+unix:///system?socket=/tmp/vmrun-lvh-.../run/libvirt-sock
        a.run("ip", "link")                       # a command inside the host (its netns and mount ns)

    a = LibvirtHost("A", "10.99.0.1")            # listens on TCP there, and migrates through it:
    a.create(); a.netns.ip(...)                   # the address must exist before start()
    a.start(); a.tcp_uri                          # qemu+tcp://10.99.0.1/system (from the other hosts)
    a.stop()                                      # also after a failed create() or start()

Two hosts for migration, on one LAN (see ``two_hosts``):

    host A netns                          host B netns
      mig0 10.99.0.1/24 <--------------->   mig0 10.99.0.2/24      (libvirt TCP + migration stream)
      br0 (bridge) -- uplink0 (veth)        br0 (bridge) -- uplink0 (veth)
                           \\                    /
                      lan-a  \\                /  lan-b
                      LAN netns: bridge "lan" 192.168.77.1/24, dnsmasq (DHCP .100-.150)

    with two_hosts(tmp_path) as hosts:
        hosts.a, hosts.b, hosts.lan               # LibvirtHost, LibvirtHost, SharedLan (a tests.lan.Lan)
        kernel = hosts.share(test_guest / "vmlinuz")   # a copy libvirt-qemu can read (/root is 0700)
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import Netns, guest_dir
from tests.lan import SUBNET, Lan
from tests.libvirtd import _alive
from tests.libvirtd import _stop as _stop_pid
from vmrun.engines.libvirt import uris

# The system folders a host gets its own copy of: name inside ROOT -> mount point.
MOUNTS = {
    "run": "/run/libvirt",
    "etc": "/etc/libvirt",
    "lib": "/var/lib/libvirt",
    "log": "/var/log/libvirt",
    "cache": "/var/cache/libvirt",
}
REAL_CACHE = Path("/var/cache/libvirt/qemu/capabilities")
# Where the capability cache made by a test host is kept between runs (the real one, if any, was
# probed with KVM usable, which these hosts do not have: it would be thrown away and re-probed).
CAPS_SEED = guest_dir().parent / "libvirt-host-caps"
DAEMONS = ("libvirtd", "virtlogd")

# Runs as the helper, inside the host's netns and fresh private mount namespace.
HELPER = r"""
import ctypes, os, select, signal, subprocess, sys, time
root, listen = sys.argv[1], sys.argv[2] == "listen"
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: the daemons and their QEMUs are reaped here
signal.signal(signal.SIGTERM, lambda *_: None)  # stop = close stdin; SIGTERM only wakes the loop

def sh(*argv):
    subprocess.run(argv, check=True)

pids = {}
try:
    sh("mount", "-t", "tmpfs", "-o", "mode=0755,size=64m", "vmrun-lvh-run", "/run")
    for name, target in MOUNTS.items():
        if target.startswith("/run/"):  # in the private tmpfs; never make a folder in the real tree
            os.makedirs(target, exist_ok=True)
        sh("mount", "--bind", os.path.join(root, name), target)
    if os.path.exists("/dev/kvm"):  # an empty root-only file: neither usable nor a working KVM
        sh("mount", "--bind", os.path.join(root, "no-kvm"), "/dev/kvm")
    # libvirtd logs domain output through virtlogd: it must be up first.
    sh("virtlogd", "-d", "-p", "/run/libvirt/virtlogd.pid")
    sh("libvirtd", "-d", *(["--listen"] if listen else []), "-p", "/run/libvirt/libvirtd.pid")
    for name in ("virtlogd", "libvirtd"):
        with open(f"/run/libvirt/{name}.pid") as f:
            pids[name] = int(f.read().strip())
    print("ready", pids["libvirtd"], pids["virtlogd"], flush=True)
except Exception as e:
    print("error", e, flush=True)

def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return

while True:  # until stdin closes (the test stopped us, or died)
    reap()
    ready, _, _ = select.select([0], [], [], 0.2)
    if ready and not os.read(0, 4096):
        break
# Normally the test already stopped the daemons; if it died, do it here, and everything in the netns.
me = os.readlink("/proc/self/ns/net")
for sig in (signal.SIGTERM, signal.SIGKILL):
    for pid in pids.values():
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}/ns/net") for p in pids.values()):
        reap()
        time.sleep(0.05)
for p in os.listdir("/proc"):
    if p.isdigit() and int(p) != os.getpid():
        try:
            if os.readlink(f"/proc/{p}/ns/net") == me:
                os.kill(int(p), signal.SIGKILL)
        except OSError:
            pass
time.sleep(0.1)
reap()
"""


def _ns_inode(pid: int | str, kind: str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/{kind}")
    except OSError:
        return None


def _connect(uri: str, daemon: int, timeout: float = 60):
    import libvirt

    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    deadline = time.monotonic() + timeout
    while True:
        try:
            return libvirt.open(uri)
        except libvirt.libvirtError:
            if time.monotonic() > deadline or not _alive(daemon):
                raise
            time.sleep(0.05)


def _copy_caps(src: Path, dst: Path) -> bool:
    """Replace ``dst`` with a copy of the capability cache ``src`` (atomically); False if none."""
    files = sorted(src.glob("*.xml")) if src.is_dir() else []
    if not files:
        return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}-", dir=dst.parent))
    for f in files:
        shutil.copy2(f, tmp / f.name)
    old = dst.with_name(f".{dst.name}-old-{uuid.uuid4().hex[:6]}")
    with contextlib.suppress(FileNotFoundError):
        dst.rename(old)
    tmp.rename(dst)
    shutil.rmtree(old, ignore_errors=True)
    return True


def _same_files(a: Path, b: Path) -> bool:
    names = {f.name for f in a.glob("*.xml")}
    if names != {f.name for f in b.glob("*.xml")}:
        return False
    return all((a / n).read_bytes() == (b / n).read_bytes() for n in names)


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()[19]


def owned_folder(prefix: str, netns: list[str]) -> Path:
    """A folder in /tmp whose ``owner`` file names this process and the namespaces that go with it."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    owner = {"pid": os.getpid(), "start": _start_time(os.getpid()), "netns": netns}
    (path / "owner").write_text(json.dumps(owner))
    return path


def sweep_stale() -> list[str]:
    """Remove what a test process killed with SIGKILL left: its folders and their namespaces.

    (Its helpers, seeing their stdin close, already killed its daemons and QEMUs.) Folders of
    processes that still run are left alone; the names of what was removed are returned.
    """
    removed = []
    for path in Path("/tmp").glob("vmrun-lvh-*"):
        try:
            owner = json.loads((path / "owner").read_text())
        except (OSError, ValueError):
            continue  # being made right now, or not ours
        if _start_time(owner["pid"]) == owner["start"]:
            continue
        for name in owner["netns"]:
            if Path(f"/run/netns/{name}").exists():
                ns = Netns()
                ns.name = name
                ns.destroy()
                removed.append(name)
        shutil.rmtree(path, ignore_errors=True)
        removed.append(str(path))
    return removed


class LibvirtHost:
    """One libvirt host: its own netns and mount ns, virtlogd + libvirtd listening on ``address``.

    ``create()`` makes the namespace (loopback only; the caller adds links and ``address``, which
    libvirtd binds for TCP, before ``start()``). ``stop()`` destroys every domain and network, stops
    the daemons by pid, ends the helper, deletes the namespace and the folder; it returns the pids that
    were still in the namespace after the daemons and helper were gone (should be none).
    """

    def __init__(
        self, name: str, address: str | None = None, *, log_dir: Path | None = None, caps_seed: Path | None = None
    ):
        self.name = name
        self.address = address
        self.log_dir = log_dir  # libvirt's logs are copied there on stop (the folder itself is removed)
        self.caps_seed = caps_seed if caps_seed is not None else CAPS_SEED
        self.netns = Netns()
        self.root: Path | None = None
        self.host_uuid = str(uuid.uuid4())
        self.helper: subprocess.Popen | None = None
        self.pids: dict[str, int] = {}
        self.net_ns: str | None = None  # "net:[inode]" of the host, to find its processes
        self.mnt_ns: str | None = None  # "mnt:[inode]" of the helper's private mount namespace
        self.conn = None
        self.created = False
        self.timings: dict[str, float] = {}

    # -- what a test uses ---------------------------------------------------------------------

    @property
    def socket(self) -> Path:
        assert self.root is not None
        return self.root / "run" / "libvirt-sock"

    @property
    def uri(self) -> str:
        """Reaches the host's libvirtd from any namespace (through the real path of its socket)."""
        return f"qemu+unix:///system?socket={self.socket}"

    @property
    def tcp_uri(self) -> str:
        """Reaches the host's libvirtd over TCP, from the other hosts (not from the test's namespace)."""
        assert self.address, "this host has no address: it does not listen on TCP"
        return f"qemu+tcp://{self.address}/system"

    def run(self, *argv: str, check: bool = False, timeout: float = 60) -> subprocess.CompletedProcess:
        """A command inside the host: its netns and its mount ns (it sees the host's /run/libvirt)."""
        assert self.helper is not None
        return subprocess.run(
            ["nsenter", "-t", str(self.helper.pid), "-m", "-n", "--", *argv],
            capture_output=True,
            text=True,
            check=check,
            timeout=timeout,
        )

    def virsh(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        """``virsh -c URI ARGS`` from the test's own namespaces."""
        return subprocess.run(
            ["virsh", "-c", self.uri, *args], capture_output=True, text=True, check=check, timeout=timeout
        )

    def processes(self) -> list[int]:
        """Live processes in the host's netns or its private mount ns (daemons, dnsmasq, QEMU, helper)."""
        found = []
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            if (self.net_ns and _ns_inode(p, "net") == self.net_ns) or (
                self.mnt_ns and _ns_inode(p, "mnt") == self.mnt_ns
            ):
                if _alive(int(p)):
                    found.append(int(p))
        return found

    # -- life cycle ---------------------------------------------------------------------------

    def create(self) -> None:
        """The folder (marked with its owner, for ``sweep_stale``) and the network namespace."""
        sweep_stale()
        self.root = owned_folder(f"vmrun-lvh-{self.name}-", [self.netns.name])
        self.netns.create()
        self.created = True
        self.net_ns = f"net:[{os.stat(f'/run/netns/{self.netns.name}').st_ino}]"

    def _prepare_root(self) -> None:
        assert self.root is not None, "create() first"
        for name, real in MOUNTS.items():
            d = self.root / name
            d.mkdir()
            # Same mode and owner as the system folder (libvirt-qemu must traverse some of them).
            real_path = Path(real)
            st = real_path.stat() if real_path.exists() else os.stat("/var/lib")
            os.chmod(d, st.st_mode & 0o7777)
            os.chown(d, st.st_uid, st.st_gid)
        (self.root / "no-kvm").touch(mode=0o600)
        etc = self.root / "etc"
        # The real /etc/libvirt, minus defined domains and networks (and the default network, which
        # libvirt only creates where its config folder is missing) and secrets.
        for entry in Path("/etc/libvirt").iterdir():
            if entry.name in ("qemu", "secrets"):
                continue
            if entry.is_dir():
                shutil.copytree(entry, etc / entry.name, symlinks=True)
            else:
                shutil.copy2(entry, etc / entry.name)
        (etc / "qemu" / "networks" / "autostart").mkdir(parents=True)
        (etc / "secrets").mkdir(mode=0o700)
        libvirtd = [f'host_uuid = "{self.host_uuid}"']
        # namespaces = [ ]: QEMU stays in this mount namespace. With its own /dev, libvirt moves the
        # mount on /dev/kvm into it and fails: "Unable to move ....kvm mount to /dev/kvm".
        qemu = ["namespaces = [ ]"]
        # [tpm]: libvirt runs swtpm as swtpm_user, who cannot reach this host's private folders (and
        # whose chown of them fails in this mount namespace); as root it can.
        qemu += ['swtpm_user = "root"', 'swtpm_group = "root"']
        if self.address:
            libvirtd += ["listen_tls = 0", "listen_tcp = 1", f'listen_addr = "{self.address}"', 'auth_tcp = "none"']
            # Without migration_host the target offers its hostname, which resolves to 127.0.0.1 here.
            qemu += [f'migration_address = "{self.address}"', f'migration_host = "{self.address}"']
        for name, lines in (("libvirtd.conf", libvirtd), ("qemu.conf", qemu)):
            with open(etc / name, "a") as f:
                f.write("\n# vmrun test host (tests/libvirt_hosts.py)\n" + "".join(x + "\n" for x in lines))
        self._seed_caps()

    def _seed_caps(self) -> None:
        assert self.root is not None
        caps = self.root / "cache" / "qemu" / "capabilities"
        seed = self.caps_seed if self.caps_seed.is_dir() else REAL_CACHE
        if _copy_caps(seed, caps):
            os.chmod(caps.parent, 0o711)

    def start(self) -> None:
        """Start the daemons (``create()`` first, and give the netns ``address``); connects ``conn``."""
        t0 = time.monotonic()
        self._prepare_root()
        assert self.root is not None
        with open(self.root / "helper.log", "wb") as log:
            self.helper = self.netns.popen(
                "unshare",
                "-m",
                "--propagation",
                "private",
                sys.executable,
                "-c",
                f"MOUNTS = {MOUNTS!r}\n{HELPER}",
                str(self.root),
                "listen" if self.address else "local",
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env={**os.environ, "LC_ALL": "C"},
            )
        line = self._read_line(self.helper, 60)
        if not line.startswith("ready "):
            log = (self.root / "helper.log").read_text(errors="replace")
            raise RuntimeError(f"libvirt host {self.name} did not start: {line!r}\n{log[-3000:]}")
        _, libvirtd, virtlogd = line.split()
        self.pids = {"libvirtd": int(libvirtd), "virtlogd": int(virtlogd)}
        self.mnt_ns = _ns_inode(self.helper.pid, "mnt")
        self.timings["daemons"] = time.monotonic() - t0
        try:
            self.conn = _connect(self.uri, self.pids["libvirtd"])
            self.conn.getCapabilities()  # returns once the QEMU driver has its capabilities
        except Exception as e:
            log = (self.root / "log" / "libvirtd.log").read_text(errors="replace")
            errors = "\n".join(x for x in log.splitlines() if ": error : " in x)
            raise RuntimeError(f"libvirt host {self.name}: {e}; libvirtd.log errors:\n{errors[-3000:]}") from e
        self.timings["start"] = time.monotonic() - t0

    @staticmethod
    def _read_line(proc: subprocess.Popen, timeout: float) -> str:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        buf = b""
        deadline = time.monotonic() + timeout
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return "timeout " + buf.decode(errors="replace")
            chunk = os.read(fd, 4096)
            if not chunk:
                return "exited " + buf.decode(errors="replace")
            buf += chunk
        return buf.decode(errors="replace").strip()

    def save_caps(self) -> bool:
        """Keep this host's capability cache as the seed of the next hosts, if it differs."""
        if self.root is None:
            return False
        caps = self.root / "cache" / "qemu" / "capabilities"
        if not list(caps.glob("*.xml")) or (self.caps_seed.is_dir() and _same_files(caps, self.caps_seed)):
            return False
        return _copy_caps(caps, self.caps_seed)

    def _clean_libvirt(self) -> None:
        if self.conn is None:
            return
        import libvirt

        try:
            for dom in self.conn.listAllDomains():
                with contextlib.suppress(libvirt.libvirtError):
                    if dom.isActive():
                        dom.destroy()
                with contextlib.suppress(libvirt.libvirtError):
                    if dom.isPersistent():
                        dom.undefine()
            for net in self.conn.listAllNetworks():
                with contextlib.suppress(libvirt.libvirtError):
                    if net.isActive():
                        net.destroy()
                with contextlib.suppress(libvirt.libvirtError):
                    if net.isPersistent():
                        net.undefine()
        finally:
            with contextlib.suppress(libvirt.libvirtError):
                self.conn.close()
            self.conn = None

    def stop(self) -> list[int]:
        """Remove everything the host made; the pids that had to be killed with its namespace.

        Domains and networks go through libvirt first (an error there is not raised: whatever it
        left shows up among the returned pids), then the daemons by pid, then the helper.
        """
        t0 = time.monotonic()
        leftover: list[int] = []
        with contextlib.suppress(Exception):  # vmrun remembered this daemon's URI for ps and down
            uris.forget(self.uri)
        try:
            with contextlib.suppress(Exception):
                self._clean_libvirt()
            try:
                for name in DAEMONS:
                    if pid := self.pids.pop(name, None):
                        _stop_pid(pid)
            finally:
                if self.helper is not None:
                    helper, self.helper = self.helper, None
                    helper.stdin.close()  # the helper reaps what is left and exits
                    try:
                        helper.wait(10)
                    except subprocess.TimeoutExpired:
                        helper.kill()
                        helper.wait()
                    helper.stdout.close()
        finally:
            if self.created:
                leftover = self.netns.destroy()
                self.created = False
            if self.root is not None:
                with contextlib.suppress(Exception):
                    self.save_caps()
                if self.log_dir is not None and (self.root / "log").exists():
                    with contextlib.suppress(Exception):
                        shutil.copytree(self.root / "log", self.log_dir / f"libvirt-{self.name}", dirs_exist_ok=True)
                        shutil.copy2(self.root / "helper.log", self.log_dir / f"libvirt-{self.name}" / "helper.log")
                shutil.rmtree(self.root, ignore_errors=True)
                self.root = None
        self.timings["stop"] = time.monotonic() - t0
        return leftover

    def __enter__(self) -> LibvirtHost:
        try:
            self.create()
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


class SharedLan(Lan):
    """tests/lan.py's LAN, but a bridge ``lan`` (192.168.77.1/24, dnsmasq) that several hosts join.

    ``attach(netns)`` gives that namespace a bridge ``br0`` whose port ``uplink0`` is a veth to the LAN.
    ``lease_of``, ``http`` and ``destroy`` are Lan's.
    """

    def __init__(self, tmp: Path) -> None:
        super().__init__(host=None, tmp=tmp)  # type: ignore[arg-type]
        self.ports: list[str] = []

    def create(self) -> None:
        self.ns.create()
        self.ns.ip("link", "add", "lan", "type", "bridge")
        self.ns.ip("addr", "add", f"{SUBNET}.1/24", "dev", "lan")
        self.ns.ip("link", "set", "lan", "up")
        self.start_dnsmasq()

    def attach(self, netns: Netns, port: str, uplink: str = "uplink0", bridge: str = "br0") -> None:
        subprocess.run(
            [
                "ip",
                "-n",
                netns.name,
                "link",
                "add",
                uplink,
                "type",
                "veth",
                "peer",
                "name",
                port,
                "netns",
                self.ns.name,
            ],
            check=True,
        )
        self.ns.ip("link", "set", port, "master", "lan")
        self.ns.ip("link", "set", port, "up")
        netns.ip("link", "add", bridge, "type", "bridge")
        netns.ip("link", "set", uplink, "master", bridge)
        netns.ip("link", "set", uplink, "up")
        netns.ip("link", "set", bridge, "up")
        self.ports.append(port)


@dataclass
class TwoHosts:
    a: LibvirtHost
    b: LibvirtHost
    lan: SharedLan
    shared: Path  # world-readable folder for files both hosts' QEMUs (user libvirt-qemu) must read
    leftovers: dict[str, list[int]] = field(default_factory=dict)  # filled on exit: pids killed late

    def share(self, path: Path) -> Path:
        """A copy of ``path`` in ``shared`` (libvirt relabels the files it gives QEMU; not the originals)."""
        dst = self.shared / path.name
        shutil.copyfile(path, dst)
        os.chmod(dst, 0o644)
        return dst


MIG_NET = "10.99.0"


@contextlib.contextmanager
def two_hosts(tmp_path: Path) -> Iterator[TwoHosts]:
    """Hosts A (10.99.0.1) and B (10.99.0.2) joined by the veth ``mig0``, each with ``br0`` on one LAN.

    A starts first; its capability cache then seeds B (and later runs), so only the very first run
    on a machine pays libvirt's QEMU probe. Everything is removed on exit, also after a failure;
    ``leftovers`` then tells which pids had to be killed with each namespace (none, normally).
    """
    tmp_path.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        lan = SharedLan(tmp_path)
        sweep_stale()
        shared = owned_folder("vmrun-lvh-shared-", [lan.ns.name])
        stack.callback(shutil.rmtree, shared, True)
        os.chmod(shared, 0o755)
        stack.callback(lan.destroy)
        lan.create()
        a = LibvirtHost("A", f"{MIG_NET}.1", log_dir=tmp_path)
        b = LibvirtHost("B", f"{MIG_NET}.2", log_dir=tmp_path)
        hosts = TwoHosts(a, b, lan, shared)
        for h in (a, b):
            stack.callback(lambda h=h: hosts.leftovers.__setitem__(h.name, h.stop()))
            h.create()
        subprocess.run(
            [
                "ip",
                "-n",
                a.netns.name,
                "link",
                "add",
                "mig0",
                "type",
                "veth",
                "peer",
                "name",
                "mig0",
                "netns",
                b.netns.name,
            ],
            check=True,
        )
        for h, port in ((a, "lan-a"), (b, "lan-b")):
            h.netns.ip("addr", "add", f"{h.address}/24", "dev", "mig0")
            h.netns.ip("link", "set", "mig0", "up")
            lan.attach(h.netns, port)
        a.start()
        a.save_caps()  # B starts warm even on a machine's first run
        b.start()
        yield hosts
