"""`vmrun new NAME --image N`: the profile it writes loads, and `vmrun up` of it makes the qcow2 overlay
on the cached image with the real qemu-img and QEMU, never writing the image.

The "cloud image" is a small qcow2 made with qemu-img and served as the catalogue's debian-12 through
$VMRUN_IMAGE_MIRROR (no internet here): no guest runs cloud-init, so what is checked is what the
guest would get (overlay, seed, forward), and that QEMU runs with them.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import vmrun_bin
from tests.root.test_image_pull import Server, images, mirror_catalogue_image, qcow2  # noqa: F401 (fixture)
from vmrun.profile.load import load_profile

pytestmark = [pytest.mark.root, pytest.mark.guest]


def run(vm, *args: str, **env: str):
    """``vm(...)`` with more environment (HOME, VMRUN_IMAGE_MIRROR)."""
    return vm.netns.run(vmrun_bin(), *args, env={**vm.env, **env}, timeout=300)


def home_with_key(folder: Path, kind: str | None) -> Path:
    (folder / ".ssh").mkdir(parents=True)
    if kind:
        key = folder / ".ssh" / f"id_{kind}"
        subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "me@test", "-f", str(key)], check=True)
    return folder


def test_new_with_an_image_writes_a_profile_that_up_boots_on_an_overlay(vm, tmp_path, private_config, qcow2):  # noqa: F811
    server = Server(vm.netns, tmp_path / "www", tmp_path)
    try:
        mirror_catalogue_image(server, "debian-12", qcow2.read_bytes())
        r = run(vm, "image", "pull", "debian-12", VMRUN_IMAGE_MIRROR=server.base)
    finally:
        server.stop()
    assert r.returncode == 0, r.stderr
    image = images() / "debian-12"
    before = hashlib.sha256(image.read_bytes()).hexdigest()

    home = home_with_key(tmp_path / "home", "rsa")
    home_with_key(tmp_path / "unused", None)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(home / ".ssh" / "id_ed25519")], check=True)
    r = run(vm, "new", "web", "--image", "debian-12", "--json", HOME=str(home))
    assert r.returncode == 0, r.stderr
    made = json.loads(r.stdout)
    profile_file = private_config / "vmrun" / "profiles" / "web.toml"
    disk = Path(os.environ["VMRUN_DATA_DIR"]) / "web" / "disk.qcow2"
    assert made == {
        "name": "web",
        "file": str(profile_file),
        "image": "debian-12",
        "disk": str(disk),
        "ssh_port": 2222,
        "user": "debian",
        "key": str(home / ".ssh" / "id_ed25519.pub"),  # id_ed25519 first, before id_rsa
    }
    p = load_profile(str(profile_file))
    [drive] = p.drives
    assert (drive.file, drive.backing, drive.format, drive.size) == (str(disk), str(image), "qcow2", 20 * 1024**3)
    assert p.cloud_init.user == "debian" and p.cloud_init.hostname == "web"
    assert p.cloud_init.ssh_authorized_keys == ((home / ".ssh" / "id_ed25519.pub").read_text().strip(),)
    [nic] = p.nics
    assert nic.type.value == "user" and [str(f) for f in nic.hostfwd] == ["tcp:127.0.0.1:2222-:22"]

    # The next one gets the next free port: web's forward is taken even while web is not running.
    r = run(vm, "new", "db", "--image", "debian-12", "--json", HOME=str(home))
    assert r.returncode == 0 and json.loads(r.stdout)["ssh_port"] == 2223, r.stderr

    # No public key: the profile still loads, without keys, and a notice says so.
    r = run(vm, "new", "nokey", "--image", "debian-12", HOME=str(tmp_path / "unused"))
    assert r.returncode == 0, r.stderr
    assert "no public key in" in r.stderr and "nobody can log into nokey yet" in r.stderr
    nokey = load_profile(str(private_config / "vmrun" / "profiles" / "nokey.toml"))
    assert nokey.cloud_init.ssh_authorized_keys == () and nokey.cloud_init.user is None

    r = vm("up", "web", "--set", "accel=tcg", "--set", "memory=256M")
    assert r.returncode == 0, r.stderr
    assert f"made {disk} (qcow2, 20G, overlay of {image})" in r.stdout
    assert "lies outside" not in r.stderr  # a backing in vmrun's image cache is where it belongs
    info = json.loads(
        subprocess.run(["qemu-img", "info", "-U", "--output=json", str(disk)], capture_output=True, text=True).stdout
    )
    assert (info["backing-filename"], info["backing-filename-format"], info["virtual-size"]) == (
        str(image),
        "qcow2",
        20 * 1024**3,
    )
    argv = json.loads((vm.runtime_dir / "web" / "state.json").read_text())["argv"]
    assert any(a.startswith(f"file={disk},") for a in argv)
    assert any("cidata.iso" in a and "media=cdrom" in a for a in argv)  # the cloud-init seed
    assert "user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22" in " ".join(argv)
    # While it runs, the image cannot be removed.
    r = vm("image", "rm", "debian-12")
    assert r.returncode == 2 and "debian-12 is in use: profile" in r.stderr and "running VM web" in r.stderr
    assert vm("down", "web", "--force").returncode == 0
    assert hashlib.sha256(image.read_bytes()).hexdigest() == before  # the image is only ever read


def test_new_with_an_image_not_in_the_cache_is_one_line(vm):
    r = vm("new", "web", "--image", "debian-12")
    assert r.returncode == 2, r.stderr
    line, hint = r.stderr.splitlines()
    assert line == f"vmrun: error: --image: no image 'debian-12' in the cache ({images()})"
    assert hint == "  hint: vmrun image pull debian-12 first (vmrun image list shows what is there)"
