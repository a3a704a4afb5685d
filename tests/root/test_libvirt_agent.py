"""The guest agent on the libvirt engine (libvirt's agent calls, its <channel>): exec, cp, ip, ssh and
ssh-config on one booted guest with a user NIC and a NIC on a bridge to a LAN (tests/agentchecks.py),
run by a test libvirtd (tests/libvirt_hosts.py)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time

import pytest

from tests.agentchecks import check_inside
from tests.conftest import vmrun_bin
from tests.lan import SUBNET
from tests.libvirt_hosts import LibvirtHost, SharedLan, owned_folder, sweep_stale

pytestmark = [pytest.mark.root, pytest.mark.guest]

MAC = "52:54:00:98:00:31"


@pytest.fixture
def host(tmp_path, test_guest):
    """One libvirt host whose ``br0`` (192.168.77.2 on this side) leads to a LAN with DHCP; the guest's
    kernel and initrd in a folder libvirt's QEMU can read."""
    with contextlib.ExitStack() as stack:
        lan = SharedLan(tmp_path)
        sweep_stale()
        shared = owned_folder("vmrun-lvh-shared-", [lan.ns.name])
        stack.callback(shutil.rmtree, shared, True)
        os.chmod(shared, 0o755)
        stack.callback(lan.destroy)
        lan.create()
        h = LibvirtHost("G", log_dir=tmp_path)
        leftovers: list[int] = []
        stack.callback(lambda: leftovers.extend(h.stop()))
        h.create()
        lan.attach(h.netns, "lan-g")
        h.netns.ip("addr", "add", f"{SUBNET}.2/24", "dev", "br0")  # the client reaches the LAN's guests
        h.start()
        for name in ("vmlinuz", "initrd.img"):
            shutil.copyfile(test_guest / name, shared / name)
            os.chmod(shared / name, 0o644)
        h.shared, h.lan = shared, lan
        yield h
        assert h.conn.listAllDomains(0) == []
    assert leftovers == []


def test_exec_cp_ip_ssh_under_libvirt(host, tmp_path):
    env = {**os.environ, "VMRUN_RUNTIME_DIR": str(tmp_path / "run"), "HOME": str(tmp_path / "home")}
    env["VMRUN_CONNECT"] = host.uri

    def vmrun(*args: str, timeout: float = 300):
        return host.netns.run(vmrun_bin(), *args, env=env, timeout=timeout, stdin=subprocess.DEVNULL)

    path = tmp_path / "g.toml"
    path.write_text(
        f'name = "g"\naccel = "tcg"\nmemory = "256M"\nengine = "libvirt"\nkernel = "{host.shared}/vmlinuz"\n'
        f'initrd = "{host.shared}/initrd.img"\nappend = "console=ttyS0 quiet panic=-1"\n'
        f'[[nics]]\nid = "u0"\n\n[[nics]]\nid = "b0"\ntype = "bridge"\nbridge = "br0"\nmac = "{MAC}"\n'
    )
    r = vmrun("up", str(path))
    assert r.returncode == 0, r.stderr
    try:
        assert "org.qemu.guest_agent.0" in host.conn.lookupByName("g").XMLDesc(0)
        check_inside(vmrun, host.netns, "g", MAC, host.lan.lease_of(MAC), tmp_path)  # ends with `down`
    finally:
        if host.conn.listAllDomains(0):
            vmrun("down", "g", "--force")


def test_ssh_with_the_key_vmrun_put_in_the_seed_under_libvirt(host, tmp_path):
    """No agent: the key reaches the guest only in the cloud-init seed that `up` made in the VM's data folder
    (where libvirt's QEMU reaches it: a folder libvirt-qemu may pass through); a failed `up` and `down`
    leave nothing of it."""
    data = host.shared / "data"
    data.mkdir(mode=0o700)
    env = {**os.environ, "VMRUN_RUNTIME_DIR": str(tmp_path / "run"), "HOME": str(tmp_path / "home")}
    env.update(VMRUN_CONNECT=host.uri, VMRUN_DATA_DIR=str(data))

    def vmrun(*args: str, timeout: float = 300):
        return host.netns.run(vmrun_bin(), *args, env=env, timeout=timeout, stdin=subprocess.DEVNULL)

    def profile(kernel: str) -> str:
        path = tmp_path / "s.toml"
        path.write_text(
            f'name = "s"\naccel = "tcg"\nmemory = "256M"\nengine = "libvirt"\nagent = false\nkernel = "{kernel}"\n'
            f'initrd = "{host.shared}/initrd.img"\nappend = "console=ttyS0 quiet panic=-1"\n'
            '[[nics]]\nid = "u0"\nhostfwd = ["tcp::18222-:22"]\n[cloud_init]\n'
        )
        return str(path)

    r = vmrun("up", profile(f"{host.shared}/no-such-kernel"))
    assert r.returncode != 0 and "refused to start it" in r.stderr
    assert not (data / "s").exists()  # the seed went with the failed `up` (vmrun's own key pair stays in data/ssh)
    r = vmrun("up", profile(f"{host.shared}/vmlinuz"))
    assert r.returncode == 0, r.stderr
    try:
        seed = data / "s" / "cidata.iso"
        assert seed.exists() and f"<source file='{seed}'" in host.conn.lookupByName("s").XMLDesc(0)
        deadline = time.monotonic() + 120
        while True:
            r = vmrun("ssh", "s", "--", "echo", "seed")
            if r.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(1)  # sshd not up yet
        assert (r.returncode, r.stdout) == (0, "seed\n"), r.stderr
        assert "no guest agent took the key" in r.stderr
    finally:
        assert vmrun("down", "s", "--force").returncode == 0
    assert not (data / "s").exists()
