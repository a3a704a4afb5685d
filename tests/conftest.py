"""Shared fixtures. Tiers: unit tests need nothing; tests marked ``root`` make their own
network namespace; tests marked ``guest`` also boot the tiny test guest under QEMU."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(autouse=True)
def private_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads or writes the user's own profiles or VM data: $XDG_CONFIG_HOME and $VMRUN_DATA_DIR are its own."""
    path = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(path))
    monkeypatch.setenv("VMRUN_DATA_DIR", str(tmp_path / "data"))  # NVRAM, TPM state: never the machine's own
    monkeypatch.setenv("VMRUN_IMAGE_DIR", str(tmp_path / "images"))  # cloud images: never the user's cache
    monkeypatch.delenv("VMRUN_IMAGE_MIRROR", raising=False)
    monkeypatch.delenv("VMRUN_PROFILE_PATH", raising=False)
    return path


@pytest.fixture
def runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private VMRUN_RUNTIME_DIR, so tests never see the user's VMs."""
    path = tmp_path / "run"
    monkeypatch.setenv("VMRUN_RUNTIME_DIR", str(path))
    return path


@pytest.fixture
def write_profile(tmp_path: Path):
    def write(text: str, name: str = "t") -> Path:
        path = tmp_path / f"{name}.toml"
        path.write_text(text)
        return path

    return write


def guest_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vmrun" / "test-guest"
    return Path(os.environ.get("VMRUN_GUEST_DIR") or default)


@pytest.fixture(scope="session")
def test_guest() -> Path:
    """The tiny guest; built on first use (scripts/test.sh builds it up front)."""
    folder = guest_dir()
    subprocess.run([str(REPO / "scripts" / "build-test-guest.sh"), str(folder)], check=True)
    return folder


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("this test needs root (network namespaces); run scripts/test.sh as root")


class Netns:
    """A fresh network namespace with only loopback up; everything in it dies with it."""

    def __init__(self) -> None:
        self.name = f"vmrun-t-{uuid.uuid4().hex[:8]}"

    def create(self) -> None:
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        self.ip("link", "set", "lo", "up")

    def ip(self, *args: str) -> None:
        subprocess.run(["ip", "-n", self.name, *args], check=True)

    def run(self, *argv: str, check: bool = False, timeout: float = 300, env: dict | None = None, **kw):
        return subprocess.run(
            ["ip", "netns", "exec", self.name, *argv],
            capture_output=True,
            text=True,
            check=check,
            timeout=timeout,
            env=env,
            **kw,
        )

    def popen(self, *argv: str, env: dict | None = None, **kw) -> subprocess.Popen:
        return subprocess.Popen(["ip", "netns", "exec", self.name, *argv], env=env, **kw)

    def http(self, url: str, timeout: float = 60) -> str:
        """GET ``url`` from inside the namespace, retried until something answers with a body."""
        import time

        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.run("curl", "-sS", "--max-time", "5", url)
            if last.returncode == 0 and last.stdout:
                return last.stdout
            time.sleep(0.5)
        raise AssertionError(f"no HTTP answer from {url}: {last.stderr if last else ''}")

    def pids(self) -> list[int]:
        out = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def destroy(self) -> list[int]:
        """Kill what is left inside, delete the namespace, return the pids that had to be killed."""
        leftover = self.pids()
        for pid in leftover:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        subprocess.run(["ip", "netns", "del", self.name], check=False)
        return leftover


@pytest.fixture
def netns() -> Iterator[Netns]:
    need_root()
    ns = Netns()
    ns.create()
    try:
        yield ns
    finally:
        ns.destroy()


def vmrun_bin() -> str:
    found = shutil.which("vmrun", path=str(REPO / ".venv" / "bin")) or shutil.which("vmrun")
    assert found, "vmrun is not installed (scripts/setup.sh installs it into .venv)"
    return found


@pytest.fixture
def lan(netns, tmp_path) -> Iterator:
    """A LAN namespace with dnsmasq, joined to ``netns`` by the veth ``uplink0`` (see tests/lan.py)."""
    from tests.lan import Lan

    lan = Lan(netns, tmp_path)
    lan.create()
    try:
        yield lan
    finally:
        lan.destroy()


@pytest.fixture
def vm(netns, runtime_dir):
    """``vm("up", ...)`` runs vmrun inside the test's namespace with a private runtime folder."""
    env = {**os.environ, "VMRUN_RUNTIME_DIR": str(runtime_dir)}

    def vmrun(*args: str, timeout: float = 300):
        return netns.run(vmrun_bin(), *args, env=env, timeout=timeout)

    vmrun.env = env
    vmrun.netns = netns
    vmrun.runtime_dir = runtime_dir
    yield vmrun
    leftover = [p for p in netns.pids() if _comm(p) != "dnsmasq"]
    assert leftover == [], f"processes left in the namespace: {[_comm(p) for p in leftover]}"


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def guest_profile(
    write_profile, test_guest: Path, nics: str, name: str = "g", extra: str = "", extra_args: str = '["-no-reboot"]'
) -> Path:
    """A profile that boots the tiny test guest with the given [[nics]] TOML (``extra``: more top-level keys)."""
    return write_profile(
        f'name = "{name}"\naccel = "tcg"\nmemory = "256M"\n'
        f'kernel = "{test_guest}/vmlinuz"\ninitrd = "{test_guest}/initrd.img"\n'
        f'append = "console=ttyS0 quiet panic=-1"\nextra_args = {extra_args}\n{extra}\n{nics}',
        name,
    )


@pytest.fixture
def bridge_conf():
    """Lets a test write /etc/qemu/bridge.conf; restores it (or its absence) afterwards."""
    path = Path("/etc/qemu/bridge.conf")
    had_dir = path.parent.exists()
    saved = path.read_bytes() if path.exists() else None
    yield path
    if saved is None:
        path.unlink(missing_ok=True)
        if not had_dir:
            try:
                path.parent.rmdir()
            except OSError:
                pass
    else:
        path.write_bytes(saved)


def serial_lease(run_dir: Path, iface: str = "eth0", timeout: float = 60) -> str:
    """``ADDR/PREFIX`` from the guest's ``vmrun-guest: lease IFACE ADDR/PREFIX`` line on its serial console.

    Searched anywhere in a line: the console shell's prompt may stand in front of it.
    """
    import re
    import time

    pattern = re.compile(rf"vmrun-guest: lease {re.escape(iface)} (\S+)")
    log = run_dir / "serial.log"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = pattern.search(log.read_text(errors="replace")) if log.exists() else None
        if found:
            return found.group(1)
        time.sleep(0.3)
    raise AssertionError(f"no lease line for {iface} on the serial console within {timeout} s")


def links(netns: Netns) -> set[str]:
    """The names of the network interfaces in a namespace (to prove nothing was left)."""
    out = netns.run("ip", "-o", "link", "show").stdout
    return {line.split(": ")[1].split("@")[0] for line in out.splitlines()}


@pytest.fixture
def leaves_nothing(vm):
    """The common ending, written once: call it when the host is as it should be again at the end
    (after the test's own bridges are made); when the test is over, the namespace has exactly those
    links again and the VM's run folder ``g`` is gone, whatever the test did in between."""
    marked: dict[str, set[str]] = {}

    def mark() -> None:
        marked["links"] = links(vm.netns)

    yield mark
    assert marked, "leaves_nothing() was never called"
    assert links(vm.netns) == marked["links"], "links left behind"
    assert not (vm.runtime_dir / "g").exists(), "the run folder is left behind"


@pytest.fixture
def libvirtd(vm, netns):
    """libvirtd in the test's namespace (tests/libvirtd.py); depends on ``vm`` so that it stops first.

    A test adds the networks it makes through vmrun to ``libvirtd.networks``: they are then removed
    (undefined too, so no autostart file outlives the test), whatever the test did.
    """
    from tests.libvirtd import RUN, Libvirtd

    with Libvirtd(netns) as lv:
        yield lv
    assert lv.daemon_pids() == [], "libvirtd, virtlogd or dnsmasq survived the test"
    assert not (RUN / "libvirt-sock").exists()
    assert RUN.exists() == lv.had_run_dir  # as found once the daemon lock was ours
    defined = Path("/etc/libvirt/qemu/networks")
    left = [n for n in lv.networks if (defined / f"{n}.xml").exists() or (defined / "autostart" / f"{n}.xml").exists()]
    assert left == [], f"networks still defined after the test: {left}"
