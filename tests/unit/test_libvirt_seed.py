"""The cloud-init seed under libvirt: a read-only CD-ROM on the machine's own bus (where the qemu engine's
``-drive index=3,media=cdrom`` puts it), made in the VM's data folder where libvirt runs on this host,
removed again; NotSupported in one line for a libvirt on another host (vmrun/engines/libvirt/seed.py)."""

from __future__ import annotations

import json
import os
import stat
import xml.etree.ElementTree as ET

import pytest
from typer.testing import CliRunner

from tests.unit.test_domain_xml import EMULATOR, compact, validate
from vmrun.cli import app
from vmrun.engines.libvirt import seed
from vmrun.engines.libvirt.xml import domain_xml
from vmrun.errors import NotSupported
from vmrun.profile import load_profile
from vmrun.profile.model import Accel

SEED = "/var/lib/vmrun/t/cidata.iso"
REMOTE = "qemu+ssh://lab1.invalid/system"


@pytest.fixture
def data(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("VMRUN_DATA_DIR", str(folder))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # vmrun's own key pair goes there
    return folder


def seed_disks(write_profile, text: str = "") -> list[str]:
    profile = load_profile(str(write_profile('name = "t"\naccel = "tcg"\n' + text + "[cloud_init]\n")))
    built = domain_xml(profile, accel=Accel.TCG, emulator=EMULATOR, seed=SEED)
    return [
        compact(d) for d in ET.fromstring(built.xml).findall("devices/disk") if d.find("source").get("file") == SEED
    ]


def test_seed_is_the_ide_secondary_slave_on_pc_and_valid(write_profile, tmp_path):
    assert seed_disks(write_profile, 'cdrom = "/x.iso"\n') == [
        f'<disk type="file" device="cdrom"><driver name="qemu" type="raw"/><source file="{SEED}"/>'
        '<target dev="hdd" bus="ide"/><readonly/></disk>'
    ]
    profile = load_profile(str(write_profile('name = "t"\naccel = "tcg"\ncdrom = "/x.iso"\n[cloud_init]\n')))
    validate(domain_xml(profile, accel=Accel.TCG, emulator=EMULATOR, seed=SEED).xml, tmp_path)


def test_seed_is_sata_on_q35_and_valid(write_profile, tmp_path):
    got = seed_disks(write_profile, 'machine = "q35"\n')
    assert ['dev="sdd" bus="sata"' in d for d in got] == [True]
    profile = load_profile(str(write_profile('name = "t"\naccel = "tcg"\nmachine = "q35"\n[cloud_init]\n')))
    validate(domain_xml(profile, accel=Accel.TCG, emulator=EMULATOR, seed=SEED).xml, tmp_path)


def test_seed_takes_the_next_free_target_when_drives_hold_hdd(write_profile):
    drives = "".join(f'[[drives]]\nfile = "/{c}.raw"\nformat = "raw"\ninterface = "ide"\n' for c in "abcd")
    got = seed_disks(write_profile, drives)
    assert ['<target dev="hde" bus="ide"/>' in d for d in got] == [True]


def test_no_seed_no_cdrom_and_no_warning(write_profile):
    profile = load_profile(str(write_profile('name = "t"\naccel = "tcg"\n[cloud_init]\n')))
    built = domain_xml(profile, accel=Accel.TCG, emulator=EMULATOR)
    assert ET.fromstring(built.xml).findall("devices/disk") == [] and built.warnings == ()


def test_made_in_the_data_folder_for_a_local_libvirt_and_removed(write_profile, data):
    profile = load_profile(str(write_profile('name = "t"\naccel = "tcg"\n[cloud_init]\n')))
    made = seed.make(profile, "qemu+unix:///system?socket=/tmp/x/libvirt-sock")
    assert made == data / "t" / "cidata.iso"
    assert stat.S_IMODE(made.stat().st_mode) == 0o600  # libvirt hands it to its QEMU's user while it runs
    assert stat.S_IMODE(data.stat().st_mode) == 0o711 and stat.S_IMODE(made.parent.stat().st_mode) == 0o711
    assert made.read_bytes()[0x8001:0x8006] == b"CD001"  # an ISO 9660 volume
    seed.remove("t")
    assert not made.parent.exists()
    seed.remove("t")  # already gone: nothing to say


def test_a_remote_libvirt_gets_not_supported_in_one_line(write_profile, data):
    profile = load_profile(str(write_profile('name = "t"\naccel = "tcg"\n[cloud_init]\n')))
    with pytest.raises(NotSupported) as e:
        seed.make(profile, REMOTE)
    assert str(e.value) == "t: cloud_init on lab1.invalid is not supported on the libvirt engine"
    assert list(data.iterdir()) == []


def test_up_on_a_remote_libvirt_refuses_before_making_anything(write_profile, data, tmp_path):
    path = write_profile('name = "t"\naccel = "tcg"\nengine = "libvirt"\n[cloud_init]\n')
    env = {"VMRUN_RUNTIME_DIR": str(tmp_path / "run")}
    result = CliRunner().invoke(app, ["up", str(path), "-c", REMOTE], env=env)
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines()[0] == (
        "vmrun: error: t: cloud_init on lab1.invalid is not supported on the libvirt engine"
    )
    assert list(data.iterdir()) == []


def test_show_libvirt_has_the_seed_where_up_puts_it(write_profile, data):
    path = write_profile('name = "t"\naccel = "tcg"\nqemu = "sh"\n[cloud_init]\n')
    result = CliRunner().invoke(app, ["show", str(path), "--libvirt", "--json"], env={"VMRUN_CONNECT": ""})
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert f'<source file="{data}/t/cidata.iso" />' in shown["xml"] and shown["warnings"] == []
    assert not (data / "t").exists()  # show makes nothing
    result = CliRunner().invoke(app, ["show", str(path), "--libvirt", "--json"], env={"VMRUN_CONNECT": REMOTE})
    shown = json.loads(result.stdout)
    assert "cidata.iso" not in shown["xml"]
    assert shown["warnings"] == [
        "cloud_init: `up` refuses it (t: cloud_init on lab1.invalid is not supported on the libvirt engine)"
    ]


def test_the_seed_folder_is_left_alone_when_it_holds_more(data, write_profile):
    folder = data / "t"
    folder.mkdir(mode=0o700)
    (folder / "keep").write_text("")
    (folder / "cidata.iso").write_text("")
    seed.remove("t")
    assert os.listdir(folder) == ["keep"]


class _Dom:
    def __init__(self, xml: str) -> None:
        self.xml = xml

    def isActive(self) -> bool:  # noqa: N802 (libvirt's name)
        return True

    def isPersistent(self) -> bool:  # noqa: N802
        return False

    def XMLDesc(self, _flags: int) -> str:  # noqa: N802
        return self.xml


def test_migrate_refuses_a_domain_with_its_seed_unless_storage_is_shared(data, write_profile):
    pytest.importorskip("libvirt")
    from vmrun.engines.libvirt.migrate import _flags
    from vmrun.engines.libvirt.vm import LibvirtVm
    from vmrun.errors import StateError

    iso = data / "t" / "cidata.iso"
    dom = _Dom(f"<domain><devices><disk type='file' device='cdrom'><source file='{iso}'/></disk></devices></domain>")
    vm = LibvirtVm("qemu:///system", "t")
    with pytest.raises(StateError) as e:
        _flags(vm, dom, live=True, persist=False, copy_storage=True, shared_storage=False)
    assert str(e.value) == f"t has its cloud-init seed on this host ({iso}): the target would not see it"
    assert _flags(vm, dom, live=True, persist=False, copy_storage=False, shared_storage=True)
    other = _Dom("<domain><devices><disk type='file' device='cdrom'><source file='/x.iso'/></disk></devices></domain>")
    assert _flags(vm, other, live=True, persist=False, copy_storage=False, shared_storage=False)
