"""UEFI on a booted guest (TCG, direct kernel boot, ~10 s each): Secure Boot on with the enrolled keys,
a non-volatile variable kept across down/up in the VM's own NVRAM, not seen by another VM,
`up --reset-nvram`, and a snapshot with the NVRAM as its only writable drive."""

from __future__ import annotations

import os

import pytest

from tests.conftest import guest_profile

pytestmark = [pytest.mark.root, pytest.mark.guest]


def efi(vm, port: int, query: str = "") -> dict[str, str]:
    """What the guest's /cgi-bin/efi says: {"efi": "yes", "secureboot": "1", "var": WORD}."""
    out = vm.netns.http(f"http://127.0.0.1:{port}/cgi-bin/efi{query}", timeout=120)
    return dict(line.split(" ", 1) for line in out.strip().splitlines())


def up(vm, path, *args: str) -> str:
    r = vm("up", str(path), "--wait", "--wait-timeout", "120", *args)
    assert r.returncode == 0, r.stderr
    return r.stderr


def test_secure_boot_variable_survives_down_up_and_stays_the_vms_own(vm, write_profile, test_guest, tmp_path):
    data = tmp_path / "data"
    assert os.environ["VMRUN_DATA_DIR"] == str(data)  # tests/conftest.py: never the machine's /var/lib/vmrun
    sb = guest_profile(
        write_profile,
        test_guest,
        '[[nics]]\nhostfwd = ["tcp::8080-:80"]\n',
        name="fw-a",
        extra='machine = "q35"\nfirmware = "uefi"\nsecure_boot = true',
    )
    plain = guest_profile(
        write_profile, test_guest, '[[nics]]\nhostfwd = ["tcp::8081-:80"]\n', name="fw-b", extra='firmware = "uefi"'
    )
    nvram_a, nvram_b = data / "fw-a" / "nvram.qcow2", data / "fw-b" / "nvram.qcow2"

    assert "made " + str(nvram_a) in up(vm, sb)
    try:
        assert efi(vm, 8080, "?set=kept-42") == {"efi": "yes", "secureboot": "1", "var": "kept-42"}
        # savevm needs every writable drive to hold snapshots: the NVRAM is qcow2 for that.
        r = vm("snapshot", "save", "fw-a", "s1")
        assert r.returncode == 0, r.stderr
    finally:
        assert vm("down", "fw-a").returncode == 0
    assert nvram_a.is_file() and (data / "fw-a").stat().st_mode & 0o777 == 0o700
    assert vm("gc").returncode == 0 and nvram_a.is_file()  # the VM's, like a disk: down and gc leave it

    assert "made" not in up(vm, sb)
    try:
        assert efi(vm, 8080) == {"efi": "yes", "secureboot": "1", "var": "kept-42"}
    finally:
        assert vm("down", "fw-a").returncode == 0

    up(vm, plain)  # pc, no Secure Boot, its own NVRAM: no trace of fw-a's variable
    try:
        got = efi(vm, 8081)
        assert got["efi"] == "yes" and got.get("secureboot", "0") == "0" and "var" not in got
    finally:
        assert vm("down", "fw-b").returncode == 0
    assert nvram_b.is_file() and nvram_b.stat().st_ino != nvram_a.stat().st_ino

    assert "reset " + str(nvram_a) in up(vm, sb, "--reset-nvram")
    try:
        assert efi(vm, 8080) == {"efi": "yes", "secureboot": "1"}
    finally:
        assert vm("down", "fw-a").returncode == 0
