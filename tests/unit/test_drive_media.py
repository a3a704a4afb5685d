"""[[drives]] media = "cdrom" (a second, read-only CD-ROM) and interface = "sata" (vmrun's AHCI): keys,
refusals, argv (pure; under UEFI with a boot order, bootindexes) and the domain XML (validated)."""

from __future__ import annotations

import pytest

from tests.unit.test_boot import UEFI, argv
from tests.unit.test_domain_xml import build, compact, tree, validate
from vmrun.errors import ProfileError
from vmrun.profile import load_profile
from vmrun.profile.model import Media

DRIVES = (
    '[[drives]]\nfile = "/w.qcow2"\ninterface = "sata"\n'
    '[[drives]]\nfile = "/virtio-win.iso"\nmedia = "cdrom"\n'
    '[[drives]]\nfile = "/tools.iso"\nmedia = "cdrom"\ninterface = "sata"\n'
)


def profile(write_profile, text: str, machine: str = "q35"):
    return load_profile(str(write_profile(f'name = "m"\naccel = "tcg"\nmachine = "{machine}"\n{text}', "m")))


def test_cdrom_drives_are_read_only_and_ide_unless_said(write_profile):
    p = profile(write_profile, DRIVES)
    assert [(d.media, d.interface, d.readonly) for d in p.drives] == [
        (Media.DISK, "sata", False),
        (Media.CDROM, "ide", True),
        (Media.CDROM, "sata", True),
    ]


@pytest.mark.parametrize("machine", ["pc", "q35"])
def test_argv_sata_on_vmruns_ahci_and_a_second_cdrom(write_profile, machine):
    got = argv(profile(write_profile, 'cdrom = "/inst.iso"\n' + DRIVES, machine))
    assert "ahci,id=vmrun-sata" in got
    assert "file=/w.qcow2,if=none,id=vmrun-sata0" in got
    assert "ide-hd,drive=vmrun-sata0,bus=vmrun-sata.0" in got
    assert "file=/virtio-win.iso,if=ide,media=cdrom,readonly=on" in got
    assert "file=/tools.iso,if=none,id=vmrun-sata1,media=cdrom,readonly=on" in got
    assert "ide-cd,drive=vmrun-sata1,bus=vmrun-sata.1" in got
    assert "file=/inst.iso,index=2,media=cdrom,readonly=on" in got


def test_uefi_boot_order_puts_bootindexes_on_sata_devices(write_profile):
    p = profile(
        write_profile,
        'firmware = "uefi"\nboot = ["cdrom", "disk"]\n'
        '[[drives]]\nfile = "/w.qcow2"\ninterface = "sata"\n'
        '[[drives]]\nfile = "/tools.iso"\nmedia = "cdrom"\ninterface = "sata"\n',
    )
    got = argv(p, UEFI)
    assert "ide-hd,drive=vmrun-sata0,bus=vmrun-sata.0,bootindex=2" in got
    assert "ide-cd,drive=vmrun-sata1,bus=vmrun-sata.1,bootindex=1" in got
    # With cdrom = "ISO" the profile's CD-ROM is the one booted; the drive CD-ROM gets none.
    got = argv(profile(write_profile, 'firmware = "uefi"\nboot = ["cdrom"]\ncdrom = "/i.iso"\n' + DRIVES), UEFI)
    assert "ide-cd,drive=vmrun-cdrom,bus=ide.2,unit=0,bootindex=1" in got
    assert "ide-cd,drive=vmrun-sata1,bus=vmrun-sata.1" in got


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ('[[drives]]\nfile = "/a.iso"\nmedia = "cdrom"\ninterface = "virtio"\n', "drives[0].interface", "CD-ROM"),
        ('[[drives]]\nfile = "/a.iso"\nmedia = "cdrom"\nsize = "1G"\n', "drives[0].size", "CD-ROM"),
        ('[[drives]]\nfile = "/a.iso"\nmedia = "dvd"\n', "drives[0].media", "dvd"),
        ('[[drives]]\nfile = "/a"\ninterface = "sata"\n' * 7, "drives[6].interface", "6 ports"),
        (
            'firmware = "uefi"\nboot = ["cdrom"]\n[[drives]]\nfile = "/a.iso"\nmedia = "cdrom"\n',
            "boot",
            "which an interface = 'ide' CD-ROM",
        ),
    ],
)
def test_bad_drive_keys_are_one_line_naming_the_field(write_profile, text, field, message):
    with pytest.raises(ProfileError) as e:
        profile(write_profile, text)
    assert e.value.field == field and message in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("machine", ["pc", "q35"])
def test_domain_xml_sata_disk_and_cdroms(write_profile, tmp_path, machine):
    built = build(write_profile, f'machine = "{machine}"\n{DRIVES}')
    disks = [compact(d) for d in tree(built).findall("devices/disk")]
    # IDE on q35 is its AHCI (sd*), as QEMU does it; on pc the CD-ROM is hda and the SATA ones sda, sdb.
    cd_target = '<target dev="sdb" bus="sata"/>' if machine == "q35" else '<target dev="hda" bus="ide"/>'
    raw = '<driver name="qemu" type="raw"/>'
    assert disks == [
        '<disk type="file" device="disk"><driver name="qemu" type="qcow2"/><source file="/w.qcow2"/>'
        '<target dev="sda" bus="sata"/></disk>',
        f'<disk type="file" device="cdrom">{raw}<source file="/virtio-win.iso"/>{cd_target}<readonly/></disk>',
        f'<disk type="file" device="cdrom">{raw}<source file="/tools.iso"/>'
        f'<target dev="{"sdc" if machine == "q35" else "sdb"}" bus="sata"/><readonly/></disk>',
    ]
    assert built.warnings == ()
    validate(built.xml, tmp_path)
