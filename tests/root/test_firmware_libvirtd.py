"""UEFI + Secure Boot under a test libvirtd (tests/libvirt_hosts.py): libvirt picks the firmware from the same
descriptors with the features the domain XML asks for, the guest sees SecureBoot = 1, and libvirt 9.0
refuses an internal snapshot of it, which vmrun says first as NotSupported."""

from __future__ import annotations

import pytest

from tests.conftest import guest_profile
from tests.libvirt_hosts import LibvirtHost
from tests.root.test_domain_xml_libvirtd import EMULATOR, shared  # noqa: F401  (kernel, initrd libvirt's QEMU reads)
from vmrun.argv import RunOptions
from vmrun.engines.libvirt import snapshots
from vmrun.engines.libvirt.up import up
from vmrun.engines.libvirt.xml import domain_xml
from vmrun.errors import NotSupported
from vmrun.profile import load_profile
from vmrun.profile.model import Accel

pytestmark = [pytest.mark.root, pytest.mark.guest]
PORT = 18090
VARIABLE = "VmrunTest".encode("utf-16-le")  # the name of the guest's non-volatile variable, as OVMF stores it


def test_secure_boot_domain_boots_and_snapshots_are_not_supported(write_profile, shared):  # noqa: F811
    import subprocess

    import libvirt

    disk = shared / "disk.qcow2"  # a qcow2 disk, so that only the firmware stands in the snapshot's way
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "16M"], check=True)
    disk.chmod(0o666)
    path = guest_profile(
        write_profile,
        shared,
        f'[[nics]]\nhostfwd = ["tcp::{PORT}-:80"]\n[[drives]]\nfile = "{disk}"\nformat = "qcow2"\n',
        extra='machine = "q35"\nfirmware = "uefi"\nsecure_boot = true',
    )
    built = domain_xml(load_profile(str(path)), accel=Accel.TCG, emulator=EMULATOR)
    with LibvirtHost("F") as host:
        dom = host.conn.createXML(built.xml, 0)
        try:
            out = host.netns.http(f"http://127.0.0.1:{PORT}/cgi-bin/efi", timeout=120)
            assert "efi yes" in out and "secureboot 1" in out
            live = dom.XMLDesc(0)
            assert "OVMF_CODE_4M.ms.fd" in live and "<nvram" in live  # libvirt chose the enrolled-keys firmware

            with pytest.raises(libvirt.libvirtError) as refused:  # what vmrun spares the user
                dom.snapshotCreateXML("<domainsnapshot><name>s</name><memory snapshot='internal'/></domainsnapshot>")
            assert "pflash" in str(refused.value)
            with pytest.raises(NotSupported):
                snapshots._check_disks("g", dom)
            assert "var hello" in host.netns.http(f"http://127.0.0.1:{PORT}/cgi-bin/efi?set=hello")
        finally:
            dom.destroy()
        # libvirt keeps the NVRAM in its own folder; `up --reset-nvram` has it copy the template afresh.
        nvram = host.root / "lib" / "qemu" / "nvram" / "g_VARS.fd"  # /var/lib/libvirt/qemu/nvram inside
        assert VARIABLE in nvram.read_bytes()  # written by the guest, kept after the domain's end
        vm = up(load_profile(str(path)), host.uri, options=RunOptions(reset_nvram=True))
        try:
            assert vm.status().status == "running"
            assert VARIABLE not in nvram.read_bytes()
        finally:
            host.conn.lookupByName("g").destroy()
