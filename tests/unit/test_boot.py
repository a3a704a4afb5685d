"""boot and boot_menu: -boot order= under SeaBIOS, a bootindex on the first CD-ROM, disk and NIC under
UEFI (OVMF ignores -boot), the refusals, and the domain XML's <boot>/<bootmenu> (validated)."""

from __future__ import annotations

import pytest

from tests.unit.test_domain_xml import build, compact, tree, validate
from vmrun.argv import RunOptions, build_argv
from vmrun.devices.firmware import FirmwareFiles, PreparedFirmware
from vmrun.errors import ProfileError
from vmrun.net.base import NetdevSpec
from vmrun.profile import load_profile
from vmrun.profile.model import Accel, BootDevice

PLAIN = FirmwareFiles("/d/60.json", "/fw/CODE.fd", "raw", "/fw/VARS.fd", "raw", frozenset())
UEFI = PreparedFirmware(PLAIN, "/n.qcow2")
ORDER = 'boot = ["cdrom", "disk", "network"]\nboot_menu = true\ncdrom = "/i.iso"\n'
DISK_NIC = '[[drives]]\nfile = "/d.qcow2"\naddr = "0x6"\n[[nics]]\nmodel = "e1000"\n[[nics]]\n'


def profile(write_profile, text: str):
    return load_profile(str(write_profile(f'name = "b"\naccel = "tcg"\nmachine = "q35"\n{text}', "b")))


def argv(p, fw=None, **run) -> list[str]:
    netdevs = {nic.id: NetdevSpec("user") for nic in p.nics}
    return build_argv(p, netdevs, qemu="q", accel=Accel.TCG, firmware=fw, run=RunOptions(**run))


def test_seabios_takes_an_order_and_a_menu(write_profile):
    p = profile(write_profile, ORDER + DISK_NIC)
    assert p.boot == (BootDevice.CDROM, BootDevice.DISK, BootDevice.NETWORK) and p.boot_menu
    got = argv(p)
    assert got[got.index("-boot") + 1] == "order=dcn,menu=on"
    assert "virtio-blk-pci,drive=vmrun-drive0,addr=0x6" in got and "bootindex" not in " ".join(got)
    once = argv(p, boot_cdrom=True)
    assert once[once.index("-boot") + 1] == "order=dcn,once=d,menu=on"


def test_uefi_orders_by_bootindex(write_profile):
    got = argv(profile(write_profile, ORDER + DISK_NIC), UEFI)
    assert got[got.index("-boot") + 1] == "menu=on"  # no order=: OVMF would not follow it
    assert "file=/i.iso,if=none,id=vmrun-cdrom,media=cdrom,readonly=on" not in got
    assert "ide-cd,drive=vmrun-cdrom,bus=ide.2,unit=0,bootindex=1" in got
    assert "file=/d.qcow2,if=none,id=vmrun-disk0" in got
    assert "virtio-blk-pci,drive=vmrun-disk0,addr=0x6,bootindex=2" in got
    nics = [a for a in got if a.startswith(("e1000,", "virtio-net-pci,"))]
    assert nics[0].endswith(",bootindex=3") and "bootindex" not in nics[1]
    # `up --cdrom` still puts its CD-ROM first.
    assert "ide-cd,drive=vmrun-cdrom,bus=ide.2,unit=0,bootindex=0" in argv(
        profile(write_profile, ORDER + DISK_NIC), UEFI, boot_cdrom=True
    )


def test_no_boot_keys_change_nothing(write_profile):
    got = argv(profile(write_profile, DISK_NIC), UEFI)
    assert "-boot" not in got and "virtio-blk-pci,drive=vmrun-drive0,addr=0x6" in got
    assert not any(a.startswith("file=/d.qcow2") and "addr=" in a for a in got)  # QEMU 7.2: no addr on -drive


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ('boot = ["floppy"]\n', "boot[0]", "'floppy' is not cdrom, disk or network"),
        ('boot = ["disk", "disk"]\n', "boot[1]", "already in the boot order"),
        ('boot = "disk"\n', "boot", "expected"),
        ('boot = ["disk"]\nkernel = "/k"\n', "boot", "kernel booted directly"),
        (
            'firmware = "uefi"\nboot = ["disk"]\n[[drives]]\nfile = "/d"\ninterface = "ide"\n',
            "boot",
            "which an interface = 'ide' disk",
        ),
        ('boot_menu = "on"\n', "boot_menu", "expected"),
    ],
)
def test_bad_boot_keys_are_one_line_naming_the_field(write_profile, text, field, message):
    with pytest.raises(ProfileError) as e:
        profile(write_profile, text)
    assert e.value.field == field and message in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("firmware", ["bios", "uefi"])
def test_domain_xml_boot_order_and_menu(write_profile, tmp_path, firmware):
    built = build(write_profile, f'machine = "q35"\nfirmware = "{firmware}"\n{ORDER}{DISK_NIC}')
    os_el = tree(built).find("os")
    assert [compact(b) for b in os_el.findall("boot")] == [
        '<boot dev="cdrom"/>',
        '<boot dev="hd"/>',
        '<boot dev="network"/>',
    ]
    assert compact(os_el.find("bootmenu")) == '<bootmenu enable="yes"/>'
    validate(built.xml, tmp_path)
