"""Bad input to the whole-VM keys (sound, tablet, clock, boot order, serial ports, gdb, CD-ROM drives), as
`vmrun show` meets it: exit 2 and one line naming the file and the field (a hint may follow it), never a
traceback."""

from __future__ import annotations

import pytest

from tests.faults.test_bad_input import run


def one_line(err: str) -> str:
    """The error's line; what follows it is at most its hint."""
    assert "Traceback" not in err
    first, *rest = err.splitlines()
    assert len(rest) <= 1 and all(line.startswith("  hint: ") for line in rest), err
    return first


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
    line = one_line(err)
    assert line.startswith(f"vmrun: error: {path}: {field}: ") and reason in line, line


def test_libvirt_refuses_a_unix_serial_without_a_path(write_profile):
    path = write_profile('name = "x"\n[[serials]]\ntype = "unix"\n')
    code, err = run("show", str(path), "--libvirt")
    assert code == 2
    assert one_line(err).startswith(f"vmrun: error: {path}: serials[0].path: under libvirt a unix serial socket")
