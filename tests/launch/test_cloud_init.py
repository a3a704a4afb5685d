"""``[cloud_init]``: the NoCloud seed ISO read back with isoinfo, the profile's checks, and QEMU given the seed.

No cloud image can be fetched on this machine, so no guest runs cloud-init here:
the tests check what cloud-init would read (label, files, YAML, keys) and that
QEMU has the seed as a read-only CD-ROM.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import vmrun_bin
from vmrun import cloudinit
from vmrun.adapters import iso
from vmrun.profile.cloud_init import parse_hostname
from vmrun.profile.load import load_profile


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> list[str]:
    """Two real public keys, made by ssh-keygen."""
    folder = tmp_path_factory.mktemp("keys")
    out = []
    for kind in ("ed25519", "rsa"):
        path = folder / f"id_{kind}"
        subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", f"test@{kind}", "-f", str(path)], check=True)
        out.append(path.with_suffix(".pub").read_text().strip())
    return out


def iso_read(path: Path, name: str) -> str:
    return subprocess.run(
        ["isoinfo", "-R", "-i", str(path), "-x", f"/{name}"], capture_output=True, text=True, check=True
    ).stdout


def iso_label(path: Path) -> str:
    out = subprocess.run(["isoinfo", "-d", "-i", str(path)], capture_output=True, text=True, check=True).stdout
    return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Volume id:"))


def yaml(text: str):
    """Parsed by PyYAML (Debian's python3-yaml), as cloud-init parses it."""
    r = subprocess.run(
        ["/usr/bin/python3", "-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))"],
        input=text,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(r.stdout)


@pytest.mark.parametrize("tool", iso.TOOLS)
def test_seed_contents(tool, keys, tmp_path, monkeypatch):
    monkeypatch.setattr(iso, "TOOLS", (tool,))
    profile_path = tmp_path / "web_1.toml"
    profile_path.write_text(f'[cloud_init]\nuser = "alice"\nssh_authorized_keys = {json.dumps(keys)}\n')
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    seed = cloudinit.make_seed(load_profile(str(profile_path)), run)
    assert seed == run / "cidata.iso" and seed.stat().st_mode & 0o777 == 0o600
    assert sorted(os.listdir(run)) == ["cidata.iso"]  # the staging folder is gone
    assert iso_label(seed) == "cidata"
    user_data = iso_read(seed, "user-data")
    assert user_data.startswith("#cloud-config\n")
    parsed = yaml(user_data)
    assert parsed["users"][0] == "default"
    alice = parsed["users"][1]
    assert alice["name"] == "alice" and alice["ssh_authorized_keys"] == keys and alice["lock_passwd"] is True
    meta = yaml(iso_read(seed, "meta-data"))
    assert meta["local-hostname"] == "web-1"  # the VM's name, made a host name
    assert meta["instance-id"].startswith("vmrun-web_1-")


def test_keys_without_user_go_to_the_default_user_and_raw_user_data(keys, tmp_path):
    path = tmp_path / "a.toml"
    path.write_text(f'[cloud_init]\nhostname = "box.lab"\nssh_authorized_keys = ["{keys[0]}"]\n')
    c = load_profile(str(path)).cloud_init
    assert yaml(cloudinit.user_data(c)) == {"ssh_authorized_keys": [keys[0]]}
    first = cloudinit.meta_data(c, "a")
    assert "local-hostname: box.lab\n" in first
    raw = "#cloud-config\npackages: [nginx]\n"
    path.write_text(f"[cloud_init]\nuser_data = '''\n{raw}'''\n")
    c2 = load_profile(str(path)).cloud_init
    assert cloudinit.user_data(c2) == raw
    # A different seed is a different instance: cloud-init runs its first-boot steps again.
    assert cloudinit.meta_data(c2, "a").split("\n")[0] != first.split("\n")[0]


BAD = [
    ('user = "Alice!"', "cloud_init.user: 'Alice!' is not a user name"),
    ('user = "root"', "cloud_init.user: 'root' is not made by cloud-init"),
    ('user = "alice"', "cloud_init.user: has no ssh_authorized_keys"),
    ('ssh_authorized_keys = "ssh-ed25519 AAAA"', "cloud_init.ssh_authorized_keys: expected a list"),
    (
        'ssh_authorized_keys = ["AAAAC3NzaC1lZDI1NTE5"]',
        "cloud_init.ssh_authorized_keys[0]: 'AAAAC3NzaC1lZDI1NTE5'... is not a public key",
    ),
    (
        'ssh_authorized_keys = ["ssh-ed25519 AAAA%%"]',
        "cloud_init.ssh_authorized_keys[0]: ssh-ed25519 key: its data is not valid base64",
    ),
    (
        'ssh_authorized_keys = ["ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIGrfhX1g0k2t5gDdmWGKKa0rYpUs8xkcq6U8oVh4bjjE"]',
        "cloud_init.ssh_authorized_keys[0]: ssh-rsa key: its data says it is 'ssh-ed25519'",
    ),
    ('hostname = "under_score"', "cloud_init.hostname: 'under_score' is not a host name"),
    ("user_data = 'packages: [nginx]'", "cloud_init.user_data: cloud-init would ignore it"),
    ("user_data = 5", "cloud_init.user_data: expected a string"),
    ('user_data = "#cloud-config\\n"\nuser = "bob"', "cloud_init.user: user_data replaces the generated user-data"),
    ('users = "bob"', "cloud_init.users: unknown key"),
]


@pytest.mark.parametrize("line,message", BAD, ids=[m.split(":")[1].strip() for _, m in BAD])
def test_bad_fields_are_one_line_naming_file_and_field(line, message, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(f"[cloud_init]\n{line}\n")
    r = subprocess.run([vmrun_bin(), "show", str(path)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    first = r.stderr.splitlines()[0]
    assert first.startswith(f"vmrun: error: {path}: {message}"), r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "name,hostname", [("a" * 62 + "_b", "a" * 62), ("x" * 61 + "_.y", "x" * 61), ("web_1", "web-1")]
)
def test_the_default_hostname_is_a_host_name_whatever_the_vm_name(tmp_path, name, hostname):
    """A 64-character VM name was cut to 63 characters after '_' became '-': it could end in '-'."""
    path = tmp_path / "p.toml"
    path.write_text(f'name = "{name}"\n[cloud_init]\n')
    got = load_profile(str(path)).cloud_init.hostname
    assert got == hostname and parse_hostname(got) == got


@pytest.mark.root
def test_qemu_gets_the_seed_as_a_read_only_cdrom(vm, write_profile, keys):
    """QEMU started paused (-S): enough for query-block; no cloud image to boot here."""
    path = write_profile(
        f'name = "ci"\naccel = "tcg"\nmemory = "128M"\nextra_args = ["-S"]\n'
        f'[cloud_init]\nuser = "alice"\nssh_authorized_keys = ["{keys[0]}"]\n',
        "ci",
    )
    seed = vm.runtime_dir / "ci" / "cidata.iso"
    shown = vm("show", str(path))
    assert f"-drive file={seed},id=cidata,index=3,media=cdrom,format=raw,readonly=on" in shown.stdout
    r = vm("up", str(path))
    assert r.returncode == 0, r.stderr
    try:
        blocks = json.loads(vm("qmp", "ci", "query-block").stdout)
        [cd] = [b for b in blocks if b["device"] == "cidata"]
        assert cd["removable"] is True and cd["inserted"]["ro"] is True
        assert cd["inserted"]["file"] == str(seed) and cd["inserted"]["drv"] == "raw"
        assert iso_label(seed) == "cidata" and keys[0] in iso_read(seed, "user-data")
    finally:
        assert vm("down", "ci", "--force").returncode == 0
    assert not seed.exists()


def test_argv_attaches_the_seed_read_only(tmp_path):
    """argv.py stays pure: the seed's path comes in like the other prepared things (commas doubled)."""
    from vmrun.argv import build_argv
    from vmrun.profile.model import Accel

    path = tmp_path / "a.toml"
    path.write_text('cdrom = "/isos/install.iso"\n[cloud_init]\n')
    argv = build_argv(load_profile(str(path)), {}, qemu="q", accel=Accel.TCG, seed="/run/vmrun/a,b/cidata.iso")
    i = argv.index("file=/run/vmrun/a,,b/cidata.iso,id=cidata,index=3,media=cdrom,format=raw,readonly=on")
    assert argv[i - 1] == "-drive" and argv[i - 2] == "file=/isos/install.iso,index=2,media=cdrom,readonly=on"
