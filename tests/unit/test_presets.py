"""`vmrun new NAME --preset windows|linux`: the written profile loads, `show` prints its QEMU command and
its domain XML (valid by libvirt's schema), and what each preset promises is in it."""

from __future__ import annotations

import json

import pytest

from tests.unit.test_domain_xml import validate
from tests.unit.test_new_profile import user  # noqa: F401  (the fixture)
from vmrun.profile.presets import PRESETS, render


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_preset_loads_shows_and_validates(user, tmp_path, preset):  # noqa: F811
    r = user("new", f"p-{preset}", "--preset", preset)
    assert r.returncode == 0, r.stderr
    shown = user("show", f"p-{preset}", "--json")
    assert shown.returncode == 0, shown.stderr
    argv = json.loads(shown.stdout)["argv"]
    for part in ("usb-tablet,bus=usb-bus.0", "intel-hda", "hda-duplex,audiodev=snd0"):
        assert part in argv
    assert any(a.startswith("if=pflash,unit=1,") for a in argv)  # UEFI, with the VM's own NVRAM
    if preset == "windows":
        assert "q35,smm=on" in argv and "tpm-crb,tpmdev=vmrun-tpm" in argv and "base=localtime" in argv
        assert any(a.startswith("e1000e,") for a in argv)
        assert any(a.startswith("ide-hd,drive=vmrun-sata0,bus=vmrun-sata.0,bootindex=1") for a in argv)
        assert any("virtio-win.iso,if=ide,media=cdrom,readonly=on" in a for a in argv)
    else:
        assert "vhost-user-fs-pci" in " ".join(argv)
    xml = user("show", f"p-{preset}", "--libvirt")
    assert xml.returncode == 0, xml.stderr
    validate(xml.stdout, tmp_path)


def test_unknown_preset_and_preset_with_image_are_one_line(user):  # noqa: F811
    r = user("new", "x", "--preset", "mac")
    assert r.returncode == 2 and "no preset 'mac'" in r.stderr and "windows or linux" in r.stderr
    r = user("new", "x", "--preset", "linux", "--image", "debian-12")
    assert r.returncode == 2 and "exclude each other" in r.stderr
    assert not (user.profiles / "x.toml").exists()


def test_new_help_shows_a_preset_example(user):  # noqa: F811
    assert "vmrun new win11 --preset windows" in user("new", "--help").stdout


def test_presets_name_the_vm():
    assert 'name = "w"' in render("windows", "w") and 'name = "l"' in render("linux", "l")


def test_a_clone_shares_the_disk_not_the_cdroms(user):  # noqa: F811
    assert user("new", "win", "--preset", "windows").returncode == 0
    r = user("clone", "win", "win2", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["shared_disks"] == [str(user.profiles / "win.qcow2")]
