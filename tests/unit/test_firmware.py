"""UEFI firmware: the profile keys, the choice among QEMU's firmware descriptors (the real ones Debian's
ovmf ships, and a folder of made-up ones for the edge cases), the argv it gives, `--reset-nvram`'s refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vmrun import datadir
from vmrun.argv import RunOptions, build_argv
from vmrun.cli import app
from vmrun.devices import descriptors
from vmrun.devices.firmware import FirmwareFiles, PreparedFirmware
from vmrun.errors import PreflightError, ProfileError
from vmrun.profile import load_profile
from vmrun.profile.model import Accel

SYSTEM = [Path("/usr/share/qemu/firmware")]
OVMF = Path("/usr/share/OVMF")


def profile(write_profile, text: str, name: str = "t"):
    return load_profile(str(write_profile(f'name = "{name}"\naccel = "tcg"\n{text}', name)))


@pytest.fixture
def system_descriptors() -> list[Path]:
    if not list(SYSTEM[0].glob("*.json")):
        pytest.fail("no firmware descriptors in /usr/share/qemu/firmware: apt-get install ovmf (scripts/setup.sh)")
    return SYSTEM


# -- the keys ------------------------------------------------------------------------------------


def test_bios_is_the_default(write_profile):
    p = profile(write_profile, "")
    assert p.firmware == "bios" and p.secure_boot is False


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('firmware = "uefi"\nsecure_boot = true\n', "needs the q35 machine"),
        ('firmware = "uefi"\nmachine = "pc"\nsecure_boot = true\n', "needs the q35 machine"),
        ('machine = "q35"\nsecure_boot = true\n', "this profile boots BIOS"),
    ],
)
def test_secure_boot_is_refused_in_one_line_naming_the_field(write_profile, text, words):
    with pytest.raises(ProfileError) as e:
        profile(write_profile, text)
    assert e.value.field == "secure_boot" and words in str(e.value) and "\n" not in str(e.value)


def test_firmware_takes_bios_or_uefi_only(write_profile):
    with pytest.raises(ProfileError) as e:
        profile(write_profile, 'firmware = "coreboot"\n')
    assert e.value.field == "firmware" and "bios | uefi" in str(e.value)


# -- the descriptors Debian ships ----------------------------------------------------------------


@pytest.mark.parametrize("machine", ["pc", "q35", "pc-q35-7.2", "pc-i440fx-7.2", None])
def test_plain_uefi_is_the_firmware_without_secure_boot_or_smm(write_profile, system_descriptors, machine):
    text = 'firmware = "uefi"\n' + (f'machine = "{machine},usb=off"\n' if machine else "")
    files = descriptors.choose(profile(write_profile, text), system_descriptors)
    assert files.code == str(OVMF / "OVMF_CODE_4M.fd") and files.template == str(OVMF / "OVMF_VARS_4M.fd")
    assert not files.requires_smm and "secure-boot" not in files.features


def test_secure_boot_is_the_firmware_with_keys_enrolled(write_profile, system_descriptors):
    p = profile(write_profile, 'firmware = "uefi"\nsecure_boot = true\nmachine = "q35"\n')
    files = descriptors.choose(p, system_descriptors)
    assert files.descriptor.endswith("40-edk2-x86_64-secure-enrolled.json")
    assert files.template == str(OVMF / "OVMF_VARS_4M.ms.fd") and files.requires_smm
    assert {"secure-boot", "enrolled-keys"} <= files.features


def test_no_descriptor_names_the_package(write_profile, tmp_path):
    with pytest.raises(PreflightError) as e:
        descriptors.choose(profile(write_profile, 'firmware = "uefi"\n'), [tmp_path / "none"])
    assert e.value.field == "firmware" and "apt-get install ovmf" in (e.value.hint or "")
    assert "\n" not in str(e.value)


def test_a_machine_no_descriptor_names_is_refused(write_profile, system_descriptors):
    with pytest.raises(PreflightError) as e:
        descriptors.choose(profile(write_profile, 'firmware = "uefi"\nmachine = "microvm"\n'), system_descriptors)
    assert "on microvm" in str(e.value)


# -- made-up descriptors: priority, hiding, odd ones ---------------------------------------------


def descriptor(folder: Path, name: str, *, features=(), machines=("pc-q35-*",), **over) -> Path:
    data = {
        "interface-types": ["uefi"],
        "mapping": {
            "device": "flash",
            "executable": {"filename": f"/fw/{name}.code", "format": "raw"},
            "nvram-template": {"filename": f"/fw/{name}.vars", "format": "raw"},
        },
        "targets": [{"architecture": "x86_64", "machines": list(machines)}],
        "features": list(features),
    }
    data.update(over)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


def test_descriptors_are_tried_by_name_and_a_later_folder_overrides_or_hides(write_profile, tmp_path):
    usr, etc = tmp_path / "usr", tmp_path / "etc"
    descriptor(usr, "10-a")
    descriptor(usr, "20-b")
    p = profile(write_profile, 'firmware = "uefi"\nmachine = "q35"\n')
    assert descriptors.choose(p, [usr, etc]).code == "/fw/10-a.code"
    descriptor(etc, "10-a", machines=["pc-q35-*"]).write_text("")  # an empty file hides it
    assert descriptors.choose(p, [usr, etc]).code == "/fw/20-b.code"
    descriptor(etc, "20-b", features=["acpi-s3"])
    assert descriptors.choose(p, [usr, etc]).descriptor == str(etc / "20-b.json")


def test_odd_descriptors_are_passed_over(write_profile, tmp_path):
    folder = tmp_path / "d"
    (folder / "00-broken.json").parent.mkdir(parents=True)
    (folder / "00-broken.json").write_text("{not json")
    descriptor(folder, "01-bios", **{"interface-types": ["bios"]})
    descriptor(folder, "02-arm", targets=[{"architecture": "aarch64", "machines": ["virt-*"]}])
    descriptor(folder, "03-memory", mapping={"device": "memory", "filename": "/fw/x.fd"})
    descriptor(folder, "04-stateless", mapping={"device": "flash", "executable": {"filename": "/fw/y.fd"}})
    descriptor(folder, "05-good")
    assert descriptors.choose(profile(write_profile, 'firmware = "uefi"\nmachine = "q35"\n'), [folder]).code == (
        "/fw/05-good.code"
    )


def test_without_secure_boot_enrolled_keys_never_and_smm_last(write_profile, tmp_path):
    folder = tmp_path / "d"
    descriptor(folder, "10-enrolled", features=["secure-boot", "enrolled-keys", "requires-smm"])
    descriptor(folder, "20-smm", features=["secure-boot", "requires-smm"])
    p = profile(write_profile, 'firmware = "uefi"\nmachine = "q35"\n')
    assert descriptors.choose(p, [folder]).code == "/fw/20-smm.code"  # the only one left: SMM it is
    descriptor(folder, "30-plain")
    assert descriptors.choose(p, [folder]).code == "/fw/30-plain.code"


def test_secure_boot_without_enrolled_keys_is_no_match(write_profile, tmp_path):
    folder = tmp_path / "d"
    descriptor(folder, "20-smm", features=["secure-boot", "requires-smm"])
    p = profile(write_profile, 'firmware = "uefi"\nsecure_boot = true\nmachine = "q35"\n')
    with pytest.raises(PreflightError) as e:
        descriptors.choose(p, [folder])
    assert e.value.field == "secure_boot" and "Secure Boot and enrolled keys" in str(e.value)


# -- argv ----------------------------------------------------------------------------------------

SECURE = FirmwareFiles("/d/40.json", "/fw/CODE.ms.fd", "raw", "/fw/VARS.ms.fd", "raw", frozenset({"requires-smm"}))
PLAIN = FirmwareFiles("/d/60.json", "/fw/CODE.fd", "raw", "/fw/VARS.fd", "raw", frozenset())


def argv(p, fw, **run) -> list[str]:
    return build_argv(p, {}, qemu="qemu-system-x86_64", accel=Accel.TCG, firmware=fw, run=RunOptions(**run))


def test_secure_boot_argv(write_profile):
    p = profile(write_profile, 'firmware = "uefi"\nsecure_boot = true\nmachine = "q35,usb=off"\nhotplug_slots = 0\n')
    assert argv(p, PreparedFirmware(SECURE, "/data/t/nvram.qcow2")) == [
        "qemu-system-x86_64",
        *("-accel", "tcg"),
        *("-machine", "q35,usb=off,smm=on"),
        *("-m", "1G", "-display", "none", "-smp", "1"),
        *("-global", "driver=cfi.pflash01,property=secure,value=on"),
        *("-drive", "if=pflash,unit=0,format=raw,readonly=on,file=/fw/CODE.ms.fd"),
        *("-drive", "if=pflash,unit=1,format=qcow2,file=/data/t/nvram.qcow2"),
        *("-name", "t"),
    ]


def test_plain_uefi_on_pc_adds_only_the_two_flashes(write_profile):
    p = profile(write_profile, 'firmware = "uefi"\n')
    got = argv(p, PreparedFirmware(PLAIN, "/data/t/nvram.qcow2"))
    assert "-machine" not in got and "-global" not in got
    assert got[got.index("-smp") + 2 :][:4] == [
        "-drive",
        "if=pflash,unit=0,format=raw,readonly=on,file=/fw/CODE.fd",
        "-drive",
        "if=pflash,unit=1,format=qcow2,file=/data/t/nvram.qcow2",
    ]


def test_a_path_with_a_comma_cannot_add_an_option(write_profile):
    p = profile(write_profile, 'firmware = "uefi"\n')
    got = argv(p, PreparedFirmware(PLAIN, "/data/a,file=/etc/shadow/nvram.qcow2"))
    assert "if=pflash,unit=1,format=qcow2,file=/data/a,,file=/etc/shadow/nvram.qcow2" in got


@pytest.mark.parametrize(("machine", "bus"), [("pc", "ide.1"), ("q35", "ide.2")])
def test_up_cdrom_under_uefi_is_a_bootindex_not_boot_once(write_profile, tmp_path, machine, bus):
    iso = tmp_path / "x.iso"
    p = profile(write_profile, f'firmware = "uefi"\nmachine = "{machine}"\ncdrom = "{iso}"\nhotplug_slots = 0\n')
    got = argv(p, PreparedFirmware(PLAIN, "/n.qcow2"), boot_cdrom=True)
    assert "-boot" not in got
    assert f"if=none,id=vmrun-cdrom,file={iso},media=cdrom,readonly=on" in got
    assert f"ide-cd,drive=vmrun-cdrom,bus={bus},unit=0,bootindex=0" in got
    bios = argv(p, None, boot_cdrom=True)  # BIOS: as before
    assert bios[-2:] == ["-boot", "once=d"] and f"file={iso},index=2,media=cdrom,readonly=on" in bios


def test_show_names_the_nvram_in_the_vms_data_folder(write_profile, system_descriptors):
    from vmrun.show import describe

    shown = describe(profile(write_profile, 'firmware = "uefi"\nmachine = "q35"\n', name="fw1"))
    assert shown["nvram"] == str(datadir.data_root() / "fw1" / "nvram.qcow2")
    assert f"if=pflash,unit=1,format=qcow2,file={shown['nvram']}" in shown["argv"]
    assert not (datadir.data_root() / "fw1").exists()  # show makes nothing


def test_clones_keep_their_nvram_apart(write_profile, monkeypatch, tmp_path):
    """`clone` gives a new name, and the NVRAM folder is the name's: never the original's."""
    from vmrun.profiles import clone

    monkeypatch.setenv("VMRUN_PROFILE_PATH", str(tmp_path))
    write_profile('name = "orig"\nfirmware = "uefi"\n', "orig")
    cloned = load_profile(str(clone("orig", "copy").path))
    assert cloned.name == "copy" and datadir.for_vm("copy", create=False) != datadir.for_vm("orig", create=False)


def test_reset_nvram_on_a_bios_vm_is_refused(write_profile):
    path = write_profile('name = "t"\n')
    r = CliRunner().invoke(app, ["up", str(path), "--reset-nvram"])
    assert r.exit_code == 2 and "keeps no NVRAM" in r.stderr and "--reset-nvram" in r.stderr


# -- the libvirt engine: domain XML, validated; snapshots refused ---------------------------------


def domain(write_profile, text: str):
    import xml.etree.ElementTree as ET

    from vmrun.engines.libvirt.xml import domain_xml

    built = domain_xml(profile(write_profile, text), accel=Accel.TCG, emulator="/usr/bin/qemu-system-x86_64")
    return built.xml, ET.fromstring(built.xml)


def compact(el) -> str:
    import xml.etree.ElementTree as ET

    return "".join(line.strip() for line in ET.tostring(el, encoding="unicode").splitlines()).replace(" />", "/>")


def test_secure_boot_domain_xml_asks_libvirt_for_the_same_firmware(write_profile, tmp_path):
    from tests.unit.test_domain_xml import validate

    xml, root = domain(write_profile, 'firmware = "uefi"\nsecure_boot = true\nmachine = "q35,vmport=off"\n')
    assert compact(root.find("os")) == (
        '<os firmware="efi"><type arch="x86_64" machine="q35">hvm</type>'
        '<firmware><feature enabled="yes" name="enrolled-keys"/><feature enabled="yes" name="secure-boot"/>'
        '</firmware><loader secure="yes"/></os>'
    )
    assert [(f.tag, f.get("state")) for f in root.find("features")] == [
        ("acpi", None),
        ("apic", None),
        ("vmport", "off"),
        ("smm", "on"),
    ]
    validate(xml, tmp_path)


def test_plain_uefi_domain_xml_asks_for_neither_feature(write_profile, tmp_path):
    from tests.unit.test_domain_xml import validate

    xml, root = domain(write_profile, 'firmware = "uefi"\n')
    assert root.find("os").get("firmware") == "efi" and root.find("os/loader") is None
    assert [f.get("enabled") for f in root.findall("os/firmware/feature")] == ["no", "no"]
    assert root.find("features/smm") is None
    validate(xml, tmp_path)
    _, bios = domain(write_profile, "")
    assert bios.find("os").get("firmware") is None and bios.find("os/firmware") is None


def test_secure_boot_with_smm_off_is_refused(write_profile):
    with pytest.raises(ProfileError) as e:
        domain(write_profile, 'firmware = "uefi"\nsecure_boot = true\nmachine = "q35,smm=off"\n')
    assert e.value.field == "machine" and "Secure Boot needs SMM" in str(e.value)


@pytest.mark.parametrize(
    "os_xml",
    [
        "<os firmware='efi'><loader type='pflash' readonly='yes'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader></os>",
        "<os><nvram>/var/lib/libvirt/qemu/nvram/g_VARS.fd</nvram></os>",
    ],
)
def test_libvirt_snapshot_of_a_uefi_domain_is_not_supported(os_xml):
    """libvirt 9.0 refuses internal snapshots with pflash firmware: vmrun says so first, in the engines' wording."""
    from vmrun.engines.libvirt import snapshots
    from vmrun.errors import NotSupported

    class Dom:
        def XMLDesc(self, _flags):  # what libvirt returns for a running UEFI domain (the parts looked at)
            return f"<domain>{os_xml}<devices/></domain>"

    with pytest.raises(NotSupported) as e:
        snapshots._check_disks("g", Dom())
    assert str(e.value).startswith("g: snapshot save of a UEFI VM") and "on the libvirt engine" in str(e.value)


def test_doctor_names_the_firmware_or_the_package(write_profile, system_descriptors, monkeypatch, tmp_path):
    from vmrun.devices import descriptors as d
    from vmrun.doctor import FAIL, PASS, firmware_check

    p = profile(write_profile, 'firmware = "uefi"\nsecure_boot = true\nmachine = "q35"\n')
    ok = firmware_check(p)
    assert ok.status == PASS and "40-edk2-x86_64-secure-enrolled.json" in ok.detail
    monkeypatch.setattr(d, "search_path", lambda: [tmp_path / "empty"])  # a host without ovmf
    bad = firmware_check(p)
    assert bad.status == FAIL and bad.fix.startswith("apt-get install ovmf")


def test_reset_nvram_under_libvirt_is_libvirts_start_flag():
    import libvirt

    from vmrun.engines.libvirt.up import start_flags

    assert start_flags(RunOptions(reset_nvram=True)) == libvirt.VIR_DOMAIN_START_RESET_NVRAM
    assert start_flags(RunOptions()) == 0
