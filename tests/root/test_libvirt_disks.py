"""Disks, `up --snapshot`, `up --cdrom` and `vmrun snapshot` under the libvirt engine (a test host of
tests/libvirt_hosts.py): the image is made before the domain is defined, --snapshot becomes <transient/>
disks that libvirt 9.0 starts, snapshots go through libvirt's API, --cdrom is refused in one line, and so
is a disk to make on a remote host."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import guest_profile, vmrun_bin
from tests.libvirt_hosts import LibvirtHost
from tests.root.test_domain_xml_libvirtd import shared  # noqa: F401  (kernel, initrd where libvirt's QEMU reads them)

pytestmark = pytest.mark.root


def client(*args: str, runtime: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "VMRUN_RUNTIME_DIR": str(runtime)}
    env.pop("VMRUN_CONNECT", None)
    return subprocess.run([vmrun_bin(), *args], capture_output=True, text=True, env=env, timeout=120)


def test_disk_made_transient_under_snapshot_and_snapshots_through_libvirt(tmp_path, write_profile, shared):
    disk = shared / "disk.qcow2"
    # 128M: the snapshot holds all of the guest's RAM, and TCG copies it slowly.
    path = guest_profile(write_profile, shared, "", extra=f'[[drives]]\nfile = "{disk}"\nsize = "64M"\n')
    path.write_text(path.read_text().replace('memory = "256M"', 'memory = "128M"'))
    runtime = tmp_path / "run"
    with LibvirtHost("D") as host:
        r = client("up", str(path), "-c", host.uri, "--cdrom", str(shared / "initrd.img"), runtime=runtime)
        assert r.returncode == 2 and "--cdrom needs the qemu engine: libvirt has no boot-once" in r.stderr
        assert not disk.exists()  # refused before anything was made

        r = client("up", str(path), "-c", host.uri, "--snapshot", runtime=runtime)
        assert r.returncode == 0, r.stderr
        assert f"made disk {disk} (qcow2, 64M, empty)" in r.stderr
        info = json.loads(
            subprocess.run(
                ["qemu-img", "info", "-U", "--output=json", str(disk)], check=True, capture_output=True, text=True
            ).stdout
        )
        assert (info["format"], info["virtual-size"]) == ("qcow2", 64 * 1024**2)
        before = hashlib.sha256(disk.read_bytes()).hexdigest()
        try:
            [dom] = host.conn.listAllDomains(0)
            [xml_disk] = [d for d in ET.fromstring(dom.XMLDesc(0)).iter("disk") if d.get("device") == "disk"]
            assert xml_disk.find("transient") is not None  # libvirt put the writes in an overlay of its own
            [entry] = json.loads(client("ps", "-c", host.uri, "--json", runtime=runtime).stdout)
            assert entry["snapshot"] is True

            r = client("snapshot", "save", "g", "s1", "-c", host.uri, runtime=runtime)
            assert r.returncode == 2
            assert r.stderr.splitlines()[0] == (
                f"vmrun: error: g: disk vda ({disk}) is transient (up --snapshot): libvirt cannot snapshot it"
            )
        finally:
            assert client("down", "g", "-c", host.uri, "--force", runtime=runtime).returncode == 0
        assert hashlib.sha256(disk.read_bytes()).hexdigest() == before
        # libvirt's overlay is gone with the domain.
        assert sorted(p.name for p in shared.iterdir()) == ["disk.qcow2", "initrd.img", "scratch.raw", "vmlinuz"]

        # Snapshots through libvirt's API: it knows them (virsh lists them), vmrun lists, loads, deletes them.
        # (Each vmrun call costs about a second here; what the qemu engine's test covers is not repeated.)
        r = client("up", str(path), "-c", host.uri, runtime=runtime)
        assert r.returncode == 0 and "made disk" not in r.stderr, r.stderr
        try:
            r = client("snapshot", "save", "g", "s1", "-c", host.uri, runtime=runtime)
            assert r.returncode == 0, r.stderr
            assert host.virsh("snapshot-list", "g", "--name").stdout.split() == ["s1"]
            [snap] = json.loads(client("snapshot", "list", "g", "-c", host.uri, "--json", runtime=runtime).stdout)
            assert snap["tag"] == "s1" and snap["disks"] == ["vda"]
            r = client("snapshot", "load", "g", "s1", "-c", host.uri, runtime=runtime)
            assert r.returncode == 0 and "g: back at snapshot s1" in r.stdout, r.stderr
            r = client("snapshot", "delete", "g", "s1", "-c", host.uri, runtime=runtime)
            assert r.returncode == 0, r.stderr
            assert client("snapshot", "list", "g", "-c", host.uri, runtime=runtime).stdout.strip() == "g: no snapshots"
        finally:
            assert client("down", "g", "-c", host.uri, "--force", runtime=runtime).returncode == 0


def test_a_remote_libvirt_gets_no_disk_made(tmp_path, write_profile):
    # Refused before any connection: no libvirtd needed, and nothing is made here for a host elsewhere.
    path = write_profile(f'name = "g"\naccel = "tcg"\n[[drives]]\nfile = "{tmp_path}/d.qcow2"\nsize = "1G"\n')
    r = client("up", str(path), "-c", "qemu+ssh://lab1.invalid/system", runtime=tmp_path / "run")
    assert r.returncode == 2
    assert r.stderr.splitlines()[0] == (
        f"vmrun: error: {path}: drives[0].size: vmrun makes disk images only when libvirt runs on this host, "
        "not at qemu+ssh://lab1.invalid/system"
    )
    assert not (tmp_path / "d.qcow2").exists()
