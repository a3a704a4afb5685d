"""The domain XML against a real libvirtd (a test "host" of tests/libvirt_hosts.py: TCG only, fast to start):
every shipped profile defines, and the tiny guest boots from it with its user-NIC forward (carried in <qemu:commandline>) answering HTTP.

Each profile's <emulator> is pointed at the local QEMU (jrgtest names one that is not on this machine);
bridges and networks the profiles name need not exist for defineXML.
"""

from __future__ import annotations

import shutil
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import REPO, guest_profile
from tests.libvirt_hosts import LibvirtHost
from vmrun.engines.libvirt.xml import domain_xml, interface_xml, read_metadata
from vmrun.profile import load_profile
from vmrun.profile.model import Accel, Nic, NicType

pytestmark = pytest.mark.root

EMULATOR = "/usr/bin/qemu-system-x86_64"
PROFILES = sorted((REPO / "profiles").glob("*.toml"))
# The namespace is fresh: nothing else listens in it, so any loopback port is free there.
PORT, LIVE_PORT, HOTPLUG_PORT = 18080, 18081, 18082


@pytest.fixture
def lvhost():
    with LibvirtHost("X") as host:
        yield host
        assert host.conn.listAllDomains(0) == []


def test_every_shipped_profile_defines_and_keeps_its_metadata(lvhost):
    conn = lvhost.conn
    for path in PROFILES:
        built = domain_xml(load_profile(str(path)), accel=Accel.TCG, emulator=EMULATOR)
        dom = conn.defineXML(built.xml)
        try:
            assert dom.name() == path.stem
            assert read_metadata(dom.XMLDesc(0)) == read_metadata(built.xml)
        finally:
            dom.undefine()
    assert conn.listAllDomains(0) == []


@pytest.fixture
def shared(test_guest: Path):
    """The guest's kernel and initrd (and a scratch disk) where libvirt's QEMU user can read them: /root is 0700."""
    folder = Path(tempfile.mkdtemp(prefix="vmrun-dx-"))
    try:
        folder.chmod(0o755)
        for name in ("vmlinuz", "initrd.img"):
            shutil.copy(test_guest / name, folder / name)
            (folder / name).chmod(0o644)
        with open(folder / "scratch.raw", "wb") as disk:
            disk.truncate(1 << 20)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# Every kind of device that costs libvirt a PCI slot or a root port, next to the carried user NIC.
NICS = f"""
hotplug_slots = 2
[spice]
port = 5930
ticketing = false
vdagent = true

[[drives]]
file = "{{disk}}"
format = "raw"
# <transient/>: libvirt puts the throw-away overlay next to the image and removes it at destroy
snapshot = true

[[nics]]
id = "net0"
hostfwd = ["tcp::{PORT}-:80"]

[[nics]]
id = "lan0"
type = "bridge"
bridge = "br0"

[[nics]]
id = "lan1"
type = "bridge"
bridge = "br0"
model = "e1000"
"""


@pytest.mark.parametrize("machine", ["pc", "q35"])
def test_guest_boots_its_forwards_answer_and_a_nic_hotplugs(lvhost, write_profile, shared, machine):
    import libvirt
    import libvirt_qemu

    lvhost.netns.ip("link", "add", "br0", "type", "bridge")
    # SPICE resolves its listen address with AI_ADDRCONFIG, which fails where only loopback has an address.
    lvhost.netns.ip("addr", "add", "192.168.99.1/24", "dev", "br0")
    lvhost.netns.ip("link", "set", "br0", "up")
    nics = NICS.replace("{disk}", str(shared / "scratch.raw"))
    path = guest_profile(write_profile, shared, nics, extra=f'machine = "{machine}"')
    profile = load_profile(str(path))
    built = domain_xml(profile, accel=Accel.TCG, emulator=EMULATOR)
    assert built.warnings == ()

    dom = lvhost.conn.createXML(built.xml, 0)
    try:
        assert "inet 10.0.2.15/24" in lvhost.netns.http(f"http://127.0.0.1:{PORT}/cgi-bin/ip", timeout=120)
        live = dom.XMLDesc(0)
        assert read_metadata(live) == read_metadata(built.xml)
        assert free_root_ports(live) == (2 if machine == "q35" else 0)

        # `vmrun fwd add` on a libvirt VM: the carried netdev has the NIC's id, through the monitor passthrough.
        hmp = libvirt_qemu.VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP
        libvirt_qemu.qemuMonitorCommand(dom, f"hostfwd_add net0 tcp:127.0.0.1:{LIVE_PORT}-:80", hmp)
        assert "vmrun test guest" in lvhost.netns.http(f"http://127.0.0.1:{LIVE_PORT}/")

        # `vmrun nic add`: interface_xml attached live (ACPI on pc, a spare root port on q35); libvirt
        # names its netdev "hostua-ID", where the forward goes.
        added = Nic(id="hp0", type=NicType.USER, mac="52:54:00:00:00:99", net="10.0.3.0/24")
        dom.attachDeviceFlags(interface_xml(profile, added).xml, libvirt.VIR_DOMAIN_AFFECT_LIVE)
        libvirt_qemu.qemuMonitorCommand(dom, f"hostfwd_add hostua-hp0 tcp:127.0.0.1:{HOTPLUG_PORT}-:80", hmp)
        assert "inet 10.0.3.15/24" in lvhost.netns.http(f"http://127.0.0.1:{HOTPLUG_PORT}/cgi-bin/ip")

        # debug_threads needs no warning: libvirt always names QEMU's threads.
        name_option = qemu_option(lvhost.netns, "-name")
        assert name_option.startswith("guest=g,") and "debug-threads=on" in name_option
    finally:
        try:
            dom.destroy()
        except libvirt.libvirtError:
            pass
    assert lvhost.conn.listAllDomains(0) == []


def free_root_ports(xml: str) -> int:
    """pcie-root-port controllers with nothing plugged in (a port's index is the bus number behind it)."""
    root = ET.fromstring(xml)
    ports = {int(c.get("index")) for c in root.iter("controller") if c.get("model") == "pcie-root-port"}
    used = {int(a.get("bus"), 16) for a in root.iter("address") if a.get("type") == "pci"}
    return len(ports - used)


def qemu_option(netns, option: str) -> str:
    for pid in netns.pids():
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"qemu-system-x86_64") and option.encode() in argv:
            return argv[argv.index(option.encode()) + 1].decode()
    raise AssertionError(f"no QEMU with {option} in the namespace")
