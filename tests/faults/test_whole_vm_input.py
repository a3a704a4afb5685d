"""Bad input to the whole-VM keys (sound, tablet, clock, boot order, serial ports, gdb, CD-ROM drives), as
`vmrun show` meets it: exit 2 and one line naming the file and the field (a hint may follow it), never a
traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.faults.test_bad_input import run
from tests.faults.util import assert_nothing_left, one_error

CDROM = '[[drives]]\nfile = "/a.iso"\nmedia = "cdrom"\n'


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        ('audio = "sb16"', "audio", "'sb16'"),
        ('audio_backend = "pa"', "audio_backend", "there is no sound card to play through it"),
        ('audio = "hda"\naudio_backend = "spice"', "audio_backend", "this profile has no [spice]"),
        ('machine = "pc,usb=off"\ntablet = true', "tablet", "turns off"),
        ('rtc = "UTC+2"', "rtc", "'UTC+2'"),
        ('boot = ["hd"]', "boot[0]", "'hd' is not cdrom, disk or network"),
        ('boot = ["cdrom", "cdrom"]', "boot[1]", "cdrom is already in the boot order"),
        ('kernel = "/k"\nboot = ["disk"]', "boot", "a kernel booted directly"),
        ('firmware = "uefi"\nboot = ["disk"]\n[[drives]]\nfile = "/d"\ninterface = "scsi"', "boot", "bootindex"),
        ('firmware = "uefi"\nboot = ["cdrom"]\n' + CDROM, "boot", "bootindex"),
        ("gdb = 0", "gdb", "not a TCP port"),
        ('gdb = "0.0.0.0:x"', "gdb", "not a TCP port"),
        ('[[serials]]\ntype = "tcp"\nport = 70000', "serials[0].port", "65535"),
        ('[[serials]]\ntype = "pty"\npath = "/x"', "serials[0].path", "does not apply to a serial port of type 'pty'"),
        ('[[serials]]\ntype = "file"\npath = "/x\\n-daemonize"', "serials[0].path", "control character"),
        ('[[serials]]\ntype = "tcp"\nport = 1\naddr = "127.0.0.1,x"', "serials[0].addr", "not an IPv4 address"),
        (CDROM + 'interface = "virtio"', "drives[0].interface", "a CD-ROM is on ide, sata, scsi"),
        (CDROM + "snapshot = true", "drives[0].snapshot", "does not apply to a CD-ROM"),
    ],
)
def test_refused_in_one_line_naming_file_and_field(write_profile, text, field, reason):
    path = write_profile(f'name = "x"\n{text}\n')
    code, err = run("show", str(path))
    assert code == 2, err
    line = one_error(err)
    assert line.startswith(f"vmrun: error: {path}: {field}: ") and reason in line, line


def test_libvirt_refuses_a_unix_serial_without_a_path(write_profile):
    path = write_profile('name = "x"\n[[serials]]\ntype = "unix"\n')
    code, err = run("show", str(path), "--libvirt")
    assert code == 2
    assert one_error(err).startswith(f"vmrun: error: {path}: serials[0].path: under libvirt a unix serial socket")


@pytest.mark.root
def test_a_taken_serial_or_gdb_port_is_refused_before_starting(vm, write_profile):
    """The port is held in the VM's namespace; `up` names the field instead of QEMU failing to bind."""
    holder = "import socket, sys, time\ns = socket.socket()\ns.bind(('127.0.0.1', 14557))\ns.listen()\n"
    holder += "print('ready', flush=True)\ntime.sleep(60)\n"
    proc = subprocess.Popen(
        ["ip", "netns", "exec", vm.netns.name, sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        for text, field in (
            ('[[serials]]\ntype = "telnet"\nport = 14557\n', "serials[0].port"),
            ("gdb = 14557\n", "gdb"),
        ):
            path = write_profile(f'name = "busy"\naccel = "tcg"\nmemory = "64M"\n{text}')
            r = vm("up", str(path))
            assert r.returncode == 2, r.stderr
            assert one_error(r.stderr).startswith(f"vmrun: error: {path}: {field}: host port 127.0.0.1:14557/tcp")
        assert_nothing_left(vm)
    finally:
        proc.kill()
        proc.wait()
