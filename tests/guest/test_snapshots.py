"""`vmrun snapshot save|load|list|delete` over QMP on the tiny guest with a qcow2 disk; a raw disk is refused,
a migration blocker fails the job with QEMU's reason."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest

from tests.conftest import guest_profile

pytestmark = [pytest.mark.root, pytest.mark.guest]


def test_save_change_load_list_delete(vm, tmp_path, write_profile, test_guest):
    drive = f'[[drives]]\nfile = "{tmp_path}/disk.qcow2"\nsize = "64M"\n'
    path = guest_profile(write_profile, test_guest, '[[nics]]\nhostfwd = ["tcp::8080-:80"]\n', extra=drive)
    assert vm("up", str(path), "--wait", "--wait-timeout", "120").returncode == 0
    url = "http://127.0.0.1:8080/cgi-bin"
    try:
        assert vm.netns.http(f"{url}/note?set=before").strip() == "before"
        assert vm.netns.http(f"{url}/disk?write=one").strip() == "vmrun-disk:one"

        r = vm("snapshot", "save", "g", "s1")
        assert r.returncode == 0, r.stderr
        assert "g: saved snapshot s1 on virtio0" in r.stdout
        r = vm("snapshot", "save", "g", "s1")
        assert r.returncode == 2 and "g already has a snapshot 's1'" in r.stderr

        # After the save: the guest changes a file in RAM and its disk.
        assert vm.netns.http(f"{url}/note?set=after").strip() == "after"
        assert vm.netns.http(f"{url}/disk?write=two").strip() == "vmrun-disk:two"

        [snap] = json.loads(vm("snapshot", "list", "g", "--json").stdout)
        assert snap["tag"] == "s1" and snap["disks"] == ["virtio0"] and snap["vm_state_size"] > 0
        listed = vm("snapshot", "list", "g").stdout.splitlines()
        assert listed[0].split() == ["TAG", "ID", "DATE", "VM", "SIZE", "VM", "CLOCK", "DISKS"]
        assert listed[1].startswith("s1 ")

        r = vm("snapshot", "load", "g", "s1")
        assert r.returncode == 0, r.stderr
        assert "g: back at snapshot s1" in r.stdout
        # The guest is where it was at the save: the changes are gone, in RAM and on the disk.
        assert vm.netns.http(f"{url}/note").strip() == "before"
        assert vm.netns.http(f"{url}/disk").strip() == "vmrun-disk:one"

        r = vm("snapshot", "load", "g", "nope")
        assert r.returncode == 2 and "g has no snapshot 'nope'" in r.stderr
        assert vm("snapshot", "delete", "g", "s1").returncode == 0
        assert json.loads(vm("snapshot", "list", "g", "--json").stdout) == []
        assert vm("snapshot", "list", "g").stdout.strip() == "g: no snapshots"
    finally:
        assert vm("down", "g", "--force").returncode == 0


@contextmanager
def bare_vm(vm, write_profile, name: str, text: str):
    """A VM with no guest OS (none is needed: what is tested happens in QEMU), powered off after."""
    assert vm("up", str(write_profile(f'name = "{name}"\naccel = "tcg"\nmemory = "64M"\n{text}'))).returncode == 0
    try:
        yield
    finally:
        assert vm("down", name, "--force").returncode == 0


def test_a_raw_disk_is_named_and_nothing_is_saved(vm, tmp_path, write_profile):
    # The formats are checked before any job starts.
    drives = (
        f'[[drives]]\nfile = "{tmp_path}/qc.qcow2"\nsize = "16M"\n'
        f'[[drives]]\nfile = "{tmp_path}/raw.img"\nsize = "16M"\nformat = "raw"\n'
    )
    with bare_vm(vm, write_profile, "r", drives):
        r = vm("snapshot", "save", "r", "s1")
        assert r.returncode == 2
        assert r.stderr.splitlines()[0] == (
            f"vmrun: error: r: drive virtio1 ({tmp_path}/raw.img) is raw, which cannot hold internal snapshots"
        )
        assert vm("snapshot", "list", "r").stdout.strip() == "r: no snapshots"
        r = vm("snapshot", "save", "r", "s1", "--disk", "virtio9")
        assert r.returncode == 2 and "raw" in r.stderr  # the formats come first, whatever disk is asked for


def test_a_device_that_blocks_migration_fails_the_job_with_qemus_reason(vm, tmp_path, write_profile):
    # ivshmem without master=on blocks migration, hence savevm: QEMU's own reason comes back, on one line.
    extra = '["-object", "memory-backend-ram,id=hm,size=1M,share=on", "-device", "ivshmem-plain,memdev=hm"]'
    drive = f'[[drives]]\nfile = "{tmp_path}/qc.qcow2"\nsize = "16M"\n'
    with bare_vm(vm, write_profile, "m", f"extra_args = {extra}\n{drive}"):
        r = vm("snapshot", "save", "m", "s1")
        assert r.returncode == 1
        errors = [line for line in r.stderr.splitlines() if "error" in line]
        assert errors == [
            "vmrun: error: m: snapshot s1 not saved: "
            "Migration is disabled when using feature 'peer mode' in device 'ivshmem'"
        ]
        assert vm("snapshot", "list", "m").stdout.strip() == "m: no snapshots"
        assert json.loads(vm("qmp", "m", "query-jobs").stdout) == []  # the failed job was dismissed


def test_a_vm_whose_qemu_is_gone_is_said_not_running(vm, tmp_path, write_profile):
    # The guest powered off (here: QEMU told to quit): the run folder stays until gc, QMP is gone.
    drive = f'[[drives]]\nfile = "{tmp_path}/qc.qcow2"\nsize = "16M"\n'
    with bare_vm(vm, write_profile, "q", drive):
        assert vm("qmp", "q", "quit").returncode == 0
        for args in (["save", "q", "s1"], ["load", "q", "s1"], ["delete", "q", "s1"], ["list", "q"]):
            r = vm("snapshot", *args)
            assert r.returncode == 2, r.stderr
            assert r.stderr.splitlines() == [
                "vmrun: error: q: not running (its QEMU has exited)",
                "  hint: vmrun gc cleans up after it",
            ], args
    for args in (["save", "q", "s1"], ["list", "q"]):  # and after down
        r = vm("snapshot", *args)
        assert r.returncode == 2 and r.stderr.splitlines()[0] == "vmrun: error: q: not running", r.stderr


def test_load_compares_the_nics_with_the_save_and_never_leaves_a_dead_guest(vm, tmp_path, write_profile, test_guest):
    drive = f'[[drives]]\nfile = "{tmp_path}/disk.qcow2"\nsize = "64M"\n'
    path = guest_profile(write_profile, test_guest, '[[nics]]\nhostfwd = ["tcp::8080-:80"]\n', extra=drive)
    assert vm("up", str(path), "--wait", "--wait-timeout", "120").returncode == 0
    url = "http://127.0.0.1:8080/cgi-bin"
    status = lambda: json.loads(vm("qmp", "g", "query-status").stdout)["status"]  # noqa: E731
    try:
        assert vm("nic", "add", "g", "--user", "--id", "hp", "--hostfwd", "tcp::8081-:80").returncode == 0
        assert vm.netns.http(f"{url}/note?set=before").strip() == "before"
        assert vm("snapshot", "save", "g", "s1").returncode == 0
        assert vm.netns.http(f"{url}/note?set=after").strip() == "after"

        # Unplugged since the save: refused before anything changes, naming the NIC and how to plug it back.
        assert vm("nic", "del", "g", "hp").returncode == 0
        r = vm("snapshot", "load", "g", "s1")
        assert r.returncode == 2, r.stderr
        [error, hint] = r.stderr.splitlines()
        assert (
            error == "vmrun: error: g: snapshot s1 not loaded, it was saved with other devices: "
            "NIC hp (at 00:05.0) is no longer plugged in"
        )
        assert hint.startswith(
            "  hint: first vmrun nic add g --user --hostfwd tcp:127.0.0.1:8081-:80 --id hp --mac 52:54:00:"
        )
        assert status() == "running" and vm.netns.http(f"{url}/note").strip() == "after"

        # Plugged back by the hint: loads.
        assert vm(*hint.removeprefix("  hint: first vmrun ").split()).returncode == 0
        r = vm("snapshot", "load", "g", "s1")
        assert r.returncode == 0, r.stderr
        assert vm.netns.http(f"{url}/note").strip() == "before"

        # Plugged in since the save: refused too, with the nic del that fixes it.
        assert vm("nic", "add", "g", "--user", "--id", "late").returncode == 0
        r = vm("snapshot", "load", "g", "s1")
        assert r.returncode == 2
        assert r.stderr.splitlines() == [
            "vmrun: error: g: snapshot s1 not loaded, it was saved with other devices: "
            "NIC late was plugged in after s1 was saved",
            "  hint: first vmrun nic del g late",
        ]
        assert vm("nic", "del", "g", "late").returncode == 0

        # A snapshot this run did not save (its record lost here) cannot be compared: QEMU fails half way,
        # and the guest, partly overwritten, is reset rather than left paused or dead (-no-reboot too).
        (vm.runtime_dir / "g" / "snapshots.json").unlink()
        assert vm("nic", "del", "g", "hp").returncode == 0
        r = vm("snapshot", "load", "g", "s1")
        assert r.returncode == 1
        assert "vmrun: s1 was not saved by this run of g: its devices cannot be compared with the VM's" in r.stderr
        assert r.stderr.splitlines()[-1] == (
            "vmrun: error: g: snapshot s1 not loaded: Error -22 while loading VM state; the guest's memory was "
            "partly overwritten, so vmrun reset it: it boots again from the snapshot's disks "
            "(and a reboot now resets it: -no-reboot no longer holds for this run)"
        )
        assert status() == "running"
        assert "inet 10.0.2.15/24" in vm.netns.http(f"{url}/ip", timeout=120)  # booted again, and answers
        assert vm.netns.http(f"{url}/note?set=again").strip() == "again"
    finally:
        assert vm("down", "g", "--force").returncode == 0
