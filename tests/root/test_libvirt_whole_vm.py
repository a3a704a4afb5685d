"""The everyday devices under libvirt, on a test libvirtd (tests/libvirt_hosts.py), in one booted guest:
the sound card, the tablet on its own ICH9 controller (no spare root port taken), the local-time
clock on QEMU's command line, serial ports on tcp and unix that answer, the gdb stub (through
<qemu:commandline>), and a second CD-ROM on SATA beside one on the machine's own AHCI."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest

from tests.conftest import guest_profile
from tests.guest.test_whole_vm import talk, usb_bus_devices
from tests.root.test_domain_xml_libvirtd import EMULATOR, free_root_ports, lvhost, qemu_option, shared  # noqa: F401
from vmrun.engines.libvirt.xml import domain_xml
from vmrun.profile import load_profile
from vmrun.profile.model import Accel

pytestmark = [pytest.mark.root, pytest.mark.guest]

PORT, SERIAL_PORT, GDB_PORT = 18095, 14556, 11235


def monitor(dom, command: str | dict, hmp: bool = False):
    import libvirt_qemu

    if hmp:
        return libvirt_qemu.qemuMonitorCommand(dom, command, libvirt_qemu.VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP)
    return json.loads(libvirt_qemu.qemuMonitorCommand(dom, json.dumps(command), 0))["return"]


def test_everyday_devices_in_a_libvirt_guest(lvhost, write_profile, shared):  # noqa: F811
    sockets = shared / "sockets"
    sockets.mkdir()
    sockets.chmod(0o1777)  # libvirt's QEMU user makes the socket there
    isos = []
    for name in ("virtio-win.iso", "tools.iso"):
        (shared / name).write_bytes(b"\0" * 2048 * 16)
        (shared / name).chmod(0o644)
        isos.append(str(shared / name))
    extra = (
        f'machine = "q35"\nhotplug_slots = 2\naudio = "hda"\ntablet = true\nrtc = "localtime"\ngdb = {GDB_PORT}\n'
        f'[[drives]]\nfile = "{isos[0]}"\nmedia = "cdrom"\ninterface = "sata"\n'
        f'[[drives]]\nfile = "{isos[1]}"\nmedia = "cdrom"\n'
        f'[[serials]]\ntype = "tcp"\nport = {SERIAL_PORT}\n'
        f'[[serials]]\ntype = "unix"\npath = "{sockets}/s2.sock"\n'
    )
    nics = f'[[nics]]\nid = "net0"\nhostfwd = ["tcp::{PORT}-:80"]\n'
    path = guest_profile(write_profile, shared, nics, name="wholevm", extra=extra)
    built = domain_xml(load_profile(str(path)), accel=Accel.TCG, emulator=EMULATOR)
    assert [w for w in built.warnings if "gdb" not in w] == []

    dom = lvhost.conn.createXML(built.xml, 0)
    try:
        assert "inet 10.0.2.15/24" in lvhost.netns.http(f"http://127.0.0.1:{PORT}/cgi-bin/ip", timeout=120)
        assert free_root_ports(dom.XMLDesc(0)) == 2  # the tablet's controller and the sound card took none
        assert qemu_option(lvhost.netns, "-rtc").startswith("base=localtime")

        qtree = monitor(dom, "info qtree", hmp=True)
        for dev in ("intel-hda", "hda-duplex", "ich9-usb-ehci1"):
            assert f"dev: {dev}," in qtree, dev
        bus = re.search(r"dev: ich9-usb-ehci1, id \"(\w+)\"", qtree).group(1)
        assert usb_bus_devices(qtree, f"{bus}.0") == ["usb-tablet"]

        files = {b["inserted"]["file"]: b for b in monitor(dom, {"execute": "query-block"}) if b.get("inserted")}
        assert all(files[iso]["inserted"]["ro"] and files[iso]["removable"] for iso in isos)

        assert talk(lvhost, SERIAL_PORT).strip() == "connected"
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(Path(sockets) / "s2.sock"))
        assert re.search(r"\$[ST][0-9a-f]{2}", talk(lvhost, GDB_PORT, "$?#3f")), "no gdb stop reply"
        talk(lvhost, GDB_PORT, "$c#63")
    finally:
        dom.destroy()


def qemu_argv(netns) -> list[str]:
    for pid in netns.pids():
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        except OSError:
            continue
        if argv and argv[0].endswith("qemu-system-x86_64"):
            return argv
    raise AssertionError("no QEMU in the namespace")


def test_uefi_boot_order_becomes_bootindexes(lvhost, write_profile, shared):  # noqa: F811
    """libvirt turns <os><boot dev> into each first device's bootindex itself, which OVMF follows."""
    iso = shared / "inst.iso"
    iso.write_bytes(b"\0" * 2048 * 16)
    text = (
        'name = "uefiboot"\naccel = "tcg"\nmemory = "256M"\nmachine = "q35"\nfirmware = "uefi"\n'
        'boot = ["cdrom", "network", "disk"]\nboot_menu = true\n'
        f'[[drives]]\nfile = "{shared / "scratch.raw"}"\nformat = "raw"\ninterface = "sata"\n'
        f'[[drives]]\nfile = "{iso}"\nmedia = "cdrom"\ninterface = "sata"\n[[nics]]\nmodel = "e1000e"\n'
    )
    built = domain_xml(load_profile(str(write_profile(text, "uefiboot"))), accel=Accel.TCG, emulator=EMULATOR)
    dom = lvhost.conn.createXML(built.xml, 0)
    try:
        argv = qemu_argv(lvhost.netns)
        devices = [json.loads(argv[i + 1]) for i, a in enumerate(argv) if a == "-device" and argv[i + 1][0] == "{"]
        indexes = {d["driver"]: d["bootindex"] for d in devices if "bootindex" in d}
        assert indexes == {"ide-cd": 1, "e1000e": 2, "ide-hd": 3}
        assert "-boot" in argv and "menu=on" in argv[argv.index("-boot") + 1]
    finally:
        dom.destroy()


def test_pc_domain_with_sata_cdroms_tablet_and_sound_defines(lvhost, write_profile, shared):  # noqa: F811
    """On pc libvirt adds the AHCI controller a sata disk needs; the tablet sits on the piix3-uhci vmrun names."""
    text = (
        'name = "pcwhole"\naccel = "tcg"\nmachine = "pc"\naudio = "ac97"\ntablet = true\nrtc = "localtime"\n'
        f'[[drives]]\nfile = "{shared / "scratch.raw"}"\nformat = "raw"\ninterface = "sata"\n'
        f'[[drives]]\nfile = "{shared / "scratch.raw"}"\nmedia = "cdrom"\n'
    )
    built = domain_xml(load_profile(str(write_profile(text, "pcwhole"))), accel=Accel.TCG, emulator=EMULATOR)
    dom = lvhost.conn.defineXML(built.xml)
    try:
        live = dom.XMLDesc(0)
        assert "<controller type='sata' index='0'>" in live and "model='piix3-uhci'" in live
        assert "<sound model='ac97'>" in live and "<input type='tablet' bus='usb'>" in live
    finally:
        dom.undefine()
