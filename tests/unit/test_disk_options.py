"""Drive `size`/`backing` in the profile, `up --snapshot` and `up --cdrom` in the argv, the run state's new field."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmrun.argv import RunOptions, build_argv
from vmrun.errors import ProfileError
from vmrun.profile import load_profile
from vmrun.profile.fields import parse_disk_size, render_disk_size
from vmrun.profile.load import Override
from vmrun.profile.model import Accel
from vmrun.runstate import parse


def argv_of(path: Path, run: RunOptions = RunOptions(), overrides=()) -> list[str]:
    return build_argv(load_profile(str(path), overrides=overrides), {}, qemu="qemu", accel=Accel.TCG, run=run)


def test_no_run_options_add_nothing(write_profile):
    argv = argv_of(write_profile('name = "x"\n[[drives]]\nfile = "/d.qcow2"\n'))
    assert "-snapshot" not in argv and "-boot" not in argv


def test_snapshot_and_boot_once_from_the_cdrom(write_profile):
    path = write_profile('name = "x"\n[[drives]]\nfile = "/d.img"\ninterface = "ide"\nformat = "raw"\n')
    argv = argv_of(path, RunOptions(snapshot=True, boot_cdrom=True), [Override("cdrom", "/iso/inst.iso", "--cdrom")])
    drives = [argv[i + 1] for i, a in enumerate(argv) if a == "-drive"]
    # The disk first, then the ISO: QEMU numbers IDE drives in argv order, so the ISO is the first CD-ROM (`d`).
    assert drives == ["file=/d.img,if=ide,format=raw", "file=/iso/inst.iso,index=2,media=cdrom,readonly=on"]
    assert argv.count("-snapshot") == 1
    assert argv[argv.index("-boot") + 1] == "once=d"


def test_drives_made_by_vmrun_are_qcow2_unless_said(write_profile):
    path = write_profile(
        'name = "x"\n[[drives]]\nfile = "a.qcow2"\nsize = "40G"\n'
        '[[drives]]\nfile = "b.img"\nsize = 1048576\nformat = "raw"\n'
        '[[drives]]\nfile = "c.qcow2"\nbacking = "base/b.img"\n'
    )
    a, b, c = load_profile(str(path)).drives
    assert (a.format, a.size, a.backing) == ("qcow2", 40 * 1024**3, None)
    assert (b.format, b.size) == ("raw", 1024**2)
    # Relative paths are the profile folder's, as for `file`.
    assert (c.format, c.size, c.backing) == ("qcow2", None, str(path.parent / "base" / "b.img"))
    assert "format=qcow2" in argv_of(path)[argv_of(path).index("-drive") + 1]


@pytest.mark.parametrize(
    ("text", "size"),
    [("40G", 40 * 1024**3), ("512M", 512 * 1024**2), ("1.5T", int(1.5 * 1024**4)), ("10KiB", 10240), (4096, 4096)],
)
def test_disk_sizes(text, size):
    assert parse_disk_size(text) == size


@pytest.mark.parametrize("bad", ["lots", "40", "-1G", "0K", 100, True, "99E"])
def test_bad_disk_sizes(bad):
    with pytest.raises(ValueError):
        parse_disk_size(bad)


def test_sizes_render_in_the_largest_unit():
    assert [render_disk_size(s) for s in (40 * 1024**3, 1536 * 1024**2, 1000)] == ["40G", "1536M", "1000B"]


@pytest.mark.parametrize(
    ("drive", "field"),
    [
        ('size = "x"', "drives[0].size"),
        ('backing = "b"\nformat = "raw"', "drives[0].format"),
        ('size = "1G"\nreadonly = true', "drives[0].readonly"),
    ],
)
def test_bad_drive_values_name_file_and_field(write_profile, drive, field):
    path = write_profile(f'name = "x"\n[[drives]]\nfile = "d.qcow2"\n{drive}\n')
    with pytest.raises(ProfileError) as e:
        load_profile(str(path))
    assert e.value.source == str(path) and e.value.field == field


def test_a_state_file_without_the_snapshot_field_still_loads(tmp_path):
    old = {"schema": 2, "name": "x", "profile": "/p.toml", "argv": ["qemu"], "started": 1.0, "phase": "running"}
    assert parse(old, tmp_path / "state.json").snapshot is False
    assert parse({**old, "snapshot": True}, tmp_path / "state.json").snapshot is True


def test_set_cdrom_still_works_and_boots_nothing_once(write_profile):
    argv = argv_of(write_profile('name = "x"\n'), overrides=[("cdrom", "/iso/a.iso")])
    assert argv[argv.index("-drive") + 1] == "file=/iso/a.iso,index=2,media=cdrom,readonly=on"
    assert "-boot" not in argv


def test_libvirt_maps_snapshot_to_transient_disks_and_refuses_cdrom_and_persist(write_profile):
    from vmrun.engines.libvirt.up import run_options
    from vmrun.engines.libvirt.xml import domain_xml

    path = write_profile('name = "x"\n[[drives]]\nfile = "/a.qcow2"\n[[drives]]\nfile = "/b.iso"\nreadonly = true\n')
    profile = load_profile(str(path))
    mapped = run_options(profile, RunOptions(snapshot=True), persist=False)
    assert [d.snapshot for d in mapped.drives] == [True, False]  # a read-only drive is never written to anyway
    assert domain_xml(mapped, accel=Accel.TCG, emulator="/q").xml.count("<transient />") == 1
    assert run_options(profile, RunOptions(), persist=True) is profile
    with pytest.raises(ProfileError, match="--snapshot cannot go with --persist"):
        run_options(profile, RunOptions(snapshot=True), persist=True)
    with pytest.raises(ProfileError, match="--cdrom needs the qemu engine"):
        run_options(profile, RunOptions(boot_cdrom=True), persist=False)
