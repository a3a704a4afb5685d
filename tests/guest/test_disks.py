"""Disks vmrun makes with the real qemu-img (`size`, `backing`), never touched again; `up --snapshot`."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import guest_profile

pytestmark = pytest.mark.root


def info(path: Path) -> dict:
    return json.loads(
        subprocess.run(
            ["qemu-img", "info", "-U", "--output=json", str(path)], check=True, capture_output=True, text=True
        ).stdout
    )


def fingerprint(path: Path) -> tuple[int, str]:
    return path.stat().st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest()


DISKS = """name = "dk"
accel = "tcg"
memory = "64M"
[[drives]]
file = "disks/empty.qcow2"
size = "40G"
[[drives]]
file = "disks/raw.img"
size = "16M"
format = "raw"
[[drives]]
file = "disks/overlay.qcow2"
backing = "base.img"
"""


def test_up_makes_missing_disks_once_and_never_touches_them_again(vm, tmp_path, write_profile):
    (tmp_path / "disks").mkdir()
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(tmp_path / "base.img"), "32M"], check=True)
    base_before = fingerprint(tmp_path / "base.img")
    path = write_profile(DISKS)

    r = vm("up", str(path))
    assert r.returncode == 0, r.stderr
    empty, raw, overlay = (tmp_path / "disks" / n for n in ("empty.qcow2", "raw.img", "overlay.qcow2"))
    assert f"made {empty} (qcow2, 40G, empty)" in r.stdout
    assert f"made {raw} (raw, 16M, empty)" in r.stdout
    assert f"made {overlay} (qcow2, overlay of {tmp_path / 'base.img'})" in r.stdout
    assert (info(empty)["format"], info(empty)["virtual-size"]) == ("qcow2", 40 * 1024**3)
    assert (info(raw)["format"], info(raw)["virtual-size"]) == ("raw", 16 * 1024**2)
    o = info(overlay)
    assert (o["format"], o["virtual-size"]) == ("qcow2", 32 * 1024**2)
    assert (o["backing-filename"], o["backing-filename-format"]) == (str(tmp_path / "base.img"), "raw")
    assert empty.stat().st_mode & 0o077 == 0  # a disk holds the guest's data: its owner's alone
    assert not list((tmp_path / "disks").glob(".*"))  # no temporary file left
    assert vm("down", "dk", "--force").returncode == 0

    before = {p: fingerprint(p) for p in (empty, raw, overlay)}
    # A second up, now with another size in the profile: one notice, the image as it was.
    # Also --cdrom: booted once, taken from the current folder, not written into the profile.
    path.write_text(DISKS.replace('"16M"', '"32M"'))
    profile_text = path.read_text()
    r = vm("up", str(path), "--cdrom", str(tmp_path / "base.img"))
    assert r.returncode == 0, r.stderr
    assert "made" not in r.stdout
    assert f"drives[1]: {raw} is 16M, not the profile's size 32M; left as it is" in r.stderr
    argv = json.loads((vm.runtime_dir / "dk" / "state.json").read_text())["argv"]
    assert f"file={tmp_path / 'base.img'},index=2,media=cdrom,readonly=on" in argv
    assert argv[argv.index("-boot") + 1] == "once=d"
    assert path.read_text() == profile_text
    assert vm("down", "dk", "--force").returncode == 0
    assert {p: fingerprint(p) for p in (empty, raw, overlay)} == before
    assert fingerprint(tmp_path / "base.img") == base_before  # the backing image is only read


@pytest.mark.parametrize(
    ("drive", "code", "message"),
    [
        ('file = "d.qcow2"\nsize = "lots"', 2, "t.toml: drives[0].size: 'lots' is not a size"),
        ('file = "d.qcow2"\nbacking = "nope.img"', 2, "t.toml: drives[0].backing: {tmp}/nope.img does not exist"),
        (
            'file = "d.qcow2"\nbacking = "b.img"\nformat = "raw"',
            2,
            "t.toml: drives[0].format: 'raw' cannot have a backing file",
        ),
        ('file = "no/such/dir/d.qcow2"\nsize = "1G"', 1, "cannot create: {tmp}/no/such/dir/d.qcow2: Could not create"),
    ],
)
def test_bad_disk_values_and_failures_are_one_line(vm, tmp_path, write_profile, drive, code, message):
    path = write_profile(f'name = "bad"\naccel = "tcg"\nmemory = "64M"\n[[drives]]\n{drive}\n')
    r = vm("up", str(path))
    assert r.returncode == code, r.stderr
    line, *rest = r.stderr.splitlines()
    assert message.format(tmp=tmp_path) in line, line
    assert all(more.startswith("  hint: ") for more in rest), r.stderr
    assert not (tmp_path / "d.qcow2").exists() and not (vm.runtime_dir / "bad").exists()


def looping_chain(folder: Path) -> tuple[Path, Path]:
    """a.qcow2 -> b.qcow2 -> a.qcow2 (the loop made afterwards with an unsafe rebase, as a mistake would)."""
    a, b = folder / "a.qcow2", folder / "b.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(a), "16M"], check=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(a), "-F", "qcow2", str(b)], check=True)
    subprocess.run(["qemu-img", "rebase", "-u", "-f", "qcow2", "-b", str(b), "-F", "qcow2", str(a)], check=True)
    return a, b


@pytest.mark.parametrize("key", ["file", "backing"])
def test_a_looping_backing_chain_is_named_at_once(vm, tmp_path, write_profile, key):
    # With `backing` qemu-img spun for 60 s holding the VM's lock; with `file` QEMU blamed "another process".
    a, _ = looping_chain(tmp_path)
    drive = f'file = "{a}"' if key == "file" else f'file = "{tmp_path}/new.qcow2"\nbacking = "{a}"'
    path = write_profile(f'name = "lp"\naccel = "tcg"\nmemory = "64M"\n[[drives]]\n{drive}\n')
    started = time.monotonic()
    r = vm("up", str(path))
    assert time.monotonic() - started < 10
    assert r.returncode == 2, r.stderr
    assert r.stderr.splitlines() == [
        f"vmrun: error: {path}: drives[0].{key}: the backing chain of {a} loops: "
        f"its link '{tmp_path}/a.qcow2' leads back into the chain",
        "  hint: end the chain on a real base image (qemu-img rebase -u -b BASE IMAGE)",
    ]
    assert not (tmp_path / "new.qcow2").exists() and not (vm.runtime_dir / "lp").exists()
    assert vm("ps", "--json").stdout.strip() == "[]"


def test_a_backing_file_outside_the_profiles_and_images_folders_is_said(vm, tmp_path):
    # As `backing = "../../../../etc/shadow"` would: said once, when the overlay is made (not an error).
    for folder in ("profile", "disks", "elsewhere"):
        (tmp_path / folder).mkdir()
    for base in ("profile/base.img", "disks/base.img", "elsewhere/base.img"):
        subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(tmp_path / base), "16M"], check=True)
    path = tmp_path / "profile" / "ob.toml"
    path.write_text(
        'name = "ob"\naccel = "tcg"\nmemory = "64M"\n'
        '[[drives]]\nfile = "../disks/o.qcow2"\nbacking = "../elsewhere/base.img"\n'
        '[[drives]]\nfile = "../disks/p.qcow2"\nbacking = "base.img"\n'
        '[[drives]]\nfile = "../disks/q.qcow2"\nbacking = "../disks/base.img"\n'
    )
    r = vm("up", str(path))
    assert r.returncode == 0, r.stderr
    try:
        notices = [line for line in r.stderr.splitlines() if "lies outside" in line]
        assert notices == [
            f"vmrun: drives[0].backing: {tmp_path}/elsewhere/base.img lies outside the profile's "
            f"folder and the image's folder ({tmp_path}/disks and {tmp_path}/profile); "
            f"the guest reads it through {tmp_path}/disks/o.qcow2"
        ]
    finally:
        assert vm("down", "ob", "--force").returncode == 0


@pytest.mark.guest
def test_snapshot_mode_leaves_the_image_unchanged_after_the_guest_writes(vm, tmp_path, write_profile, test_guest):
    disk = tmp_path / "disk.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "64M"], check=True)
    before = fingerprint(disk)
    drive = f'[[drives]]\nfile = "{disk}"\nformat = "qcow2"\n'
    path = guest_profile(write_profile, test_guest, '[[nics]]\nhostfwd = ["tcp::8080-:80"]\n', extra=drive)
    r = vm("up", str(path), "--snapshot", "--wait", "--wait-timeout", "120")
    assert r.returncode == 0, r.stderr
    assert "snapshot on" in r.stdout
    try:
        [entry] = json.loads(vm("ps", "--json").stdout)
        assert entry["snapshot"] is True
        assert "-snapshot" in vm("ps").stdout
        # The guest writes and reads its own write back (fsync'd: QEMU has it, in its overlay).
        assert vm.netns.http("http://127.0.0.1:8080/cgi-bin/disk?write=changed").strip() == "vmrun-disk:changed"
    finally:
        assert vm("down", "g", "--force").returncode == 0
    assert fingerprint(disk) == before
