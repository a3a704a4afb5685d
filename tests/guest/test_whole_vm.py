"""The everyday devices on the qemu engine, in one booted test guest: the sound card, the tablet on the
machine's own USB, the guest's clock in local time, two more serial ports that answer, the gdb stub,
and a second CD-ROM on vmrun's AHCI beside one on IDE.

The clock is seen by the guest itself: QEMU runs with TZ three hours east of UTC, so the guest, which
reads its RTC as UTC, is three hours ahead, and its web server says so in its Date header.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import time
from email.utils import parsedate_to_datetime

import pytest

from tests.conftest import guest_profile

pytestmark = [pytest.mark.root, pytest.mark.guest]

PORT, SERIAL_PORT, GDB_PORT = 8080, 14555, 11234
NIC = f'[[nics]]\nid = "net0"\nhostfwd = ["tcp::{PORT}-:80"]\n'


def extra(iso_sata: str, iso_ide: str) -> str:
    return (
        f'machine = "q35"\naudio = "hda"\ntablet = true\nrtc = "localtime"\ngdb = {GDB_PORT}\n'
        f'[[drives]]\nfile = "{iso_sata}"\nmedia = "cdrom"\ninterface = "sata"\n'
        f'[[drives]]\nfile = "{iso_ide}"\nmedia = "cdrom"\n'
        f'[[serials]]\ntype = "tcp"\nport = {SERIAL_PORT}\n'
        '[[serials]]\ntype = "unix"\n'
    )


def qmp(vm, command: str, args: dict | None = None):
    r = vm("qmp", "g", command, *([json.dumps(args)] if args else []))
    assert r.returncode == 0, r.stderr
    try:
        return json.loads(r.stdout)
    except json.JSONDecodeError:
        return r.stdout  # what a human monitor command printed


# Connects in the VM's namespace (where QEMU listens), sends, and prints what came back.
TALK = """
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(sys.argv[2].encode())
print(s.recv(256).decode(errors="replace") if sys.argv[2] else "connected")
"""


def talk(vm, port: int, send: str = "") -> str:
    r = vm.netns.run(sys.executable, "-c", TALK, str(port), send, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout


def usb_bus_devices(qtree: str, bus: str) -> list[str]:
    """The devices `info qtree` shows on ``bus``."""
    lines = qtree.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"bus: {bus}")
    indent = len(lines[start]) - len(lines[start].lstrip())
    found = []
    for line in lines[start + 1 :]:
        if len(line) - len(line.lstrip()) <= indent:
            break
        if m := re.match(r"\s*dev: ([\w-]+),", line):
            found.append(m.group(1))
    return found


def test_everyday_devices_in_a_booted_guest(vm, write_profile, test_guest, tmp_path):
    isos = []
    for name in ("virtio-win.iso", "tools.iso"):
        (tmp_path / name).write_bytes(b"\0" * 2048 * 16)
        isos.append(str(tmp_path / name))
    path = guest_profile(write_profile, test_guest, NIC, extra=extra(*isos))
    vm.env["TZ"] = "UTC-3"  # POSIX: three hours east of UTC; QEMU's local time
    r = vm("up", str(path), "--wait", "--wait-timeout", "120")
    assert r.returncode == 0, r.stderr
    unix = vm.runtime_dir / "g" / "serial2.sock"
    assert f"  ttyS1    tcp 127.0.0.1:{SERIAL_PORT}\n  ttyS2    unix {unix}\n" in r.stdout
    assert f"  gdb      target remote 127.0.0.1:{GDB_PORT}\n" in r.stdout
    try:
        # The guest's clock: its RTC held local time, three hours ahead of UTC.
        # (busybox httpd dates its own answers, such as this 404; a CGI's answer has no Date header)
        head = vm.netns.run(
            "curl", "-sS", "-D", "-", "-o", "/dev/null", "--max-time", "10", f"http://127.0.0.1:{PORT}/"
        )
        date = next(line.split(":", 1)[1] for line in head.stdout.splitlines() if line.lower().startswith("date:"))
        ahead = parsedate_to_datetime(date.strip()).timestamp() - time.time()
        assert abs(ahead - 3 * 3600) < 600, (date, ahead)

        anon = {c["type"] for c in qmp(vm, "qom-list", {"path": "/machine/peripheral-anon"})}
        assert {"child<intel-hda>", "child<hda-duplex>", "child<usb-tablet>", "child<isa-serial>"} <= anon
        qtree = qmp(vm, "human-monitor-command", {"command-line": "info qtree"})
        assert usb_bus_devices(qtree, "usb-bus.0") == ["usb-tablet"]  # the machine's own USB (ICH9)
        assert "dev: ich9-usb-ehci1" in qtree

        blocks = {b["device"] or b["qdev"]: b for b in qmp(vm, "query-block")}
        assert blocks["vmrun-sata0"]["inserted"]["file"] == isos[0] and blocks["vmrun-sata0"]["inserted"]["ro"]
        assert blocks["ide0-cd0"]["inserted"]["file"] == isos[1] and blocks["ide0-cd0"]["removable"]

        chardevs = {c["label"]: c["filename"] for c in qmp(vm, "query-chardev")}
        assert chardevs["vmrun-serial1"].endswith(f"tcp:127.0.0.1:{SERIAL_PORT},server=on")
        assert chardevs["vmrun-serial2"].endswith(f"unix:{unix},server=on")
        assert talk(vm, SERIAL_PORT).strip() == "connected"
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(unix))
        # The gdb stub answers a halt-reason query (it stops the guest: let it go on).
        assert re.search(r"\$[ST][0-9a-f]{2}", talk(vm, GDB_PORT, "$?#3f")), "no gdb stop reply"
        talk(vm, GDB_PORT, "$c#63")
    finally:
        r = vm("down", "g", "--force")
    assert r.returncode == 0, r.stderr


def test_uefi_boot_order_is_bootindexes_qemu_takes(vm, write_profile, tmp_path):
    """OVMF ignores -boot order=: the first CD-ROM, NIC and disk carry the order as bootindex, which QEMU takes
    (and turns into the firmware's bootorder file); -boot keeps the menu only."""
    disk, iso = tmp_path / "disk.raw", tmp_path / "inst.iso"
    disk.write_bytes(b"\0" * (1 << 20))
    iso.write_bytes(b"\0" * 2048 * 16)
    path = write_profile(
        'name = "g"\naccel = "tcg"\nmemory = "256M"\nmachine = "q35"\nfirmware = "uefi"\n'
        'boot = ["cdrom", "network", "disk"]\nboot_menu = true\n'
        f'[[drives]]\nfile = "{disk}"\nformat = "raw"\ninterface = "sata"\n'
        f'[[drives]]\nfile = "{iso}"\nmedia = "cdrom"\ninterface = "sata"\n[[nics]]\nmodel = "e1000e"\n',
        "g",
    )
    r = vm("up", str(path))
    assert r.returncode == 0, r.stderr
    try:
        found = {}
        for child in qmp(vm, "qom-list", {"path": "/machine/peripheral-anon"}):
            kind = child["type"].removeprefix("child<").removesuffix(">")
            if kind in ("ide-cd", "ide-hd"):
                found[kind] = qmp(
                    vm, "qom-get", {"path": f"/machine/peripheral-anon/{child['name']}", "property": "bootindex"}
                )
        found["e1000e"] = qmp(vm, "qom-get", {"path": "/machine/peripheral/net0", "property": "bootindex"})
        assert found == {"ide-cd": 1, "e1000e": 2, "ide-hd": 3}
    finally:
        r = vm("down", "g", "--force")
    assert r.returncode == 0, r.stderr
