"""`vmrun doctor`: each check made to fail on purpose, in a fresh namespace, gives fail and its fix."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from vmrun import accel
from vmrun.doctor import bridge_netfilter_check

pytestmark = pytest.mark.root


def doctor(vm, *args: str) -> tuple[int, dict]:
    r = vm("doctor", *args, "--json")
    return r.returncode, json.loads(r.stdout)


def check(report: dict, name: str) -> dict:
    return next(c for c in report["checks"] if c["name"] == name)


def test_host_only_report_passes_here(vm):
    code, report = doctor(vm)
    assert code == 0 and report["ok"] is True
    assert check(report, "qemu")["status"] == "pass"
    assert check(report, "/dev/net/tun")["status"] == "pass"
    # Whether or not the daemons run, no profile needs them: never a failure.
    assert check(report, "libvirt")["status"] in ("pass", "warn")
    assert check(report, "openvswitch")["status"] in ("pass", "warn")


def test_text_report_names_the_fix_and_exits_1(vm, write_profile):
    path = write_profile('name = "x"\nqemu = "/opt/none/qemu-system-x86_64"\naccel = "tcg"\n')
    r = vm("doctor", str(path))
    assert r.returncode == 1
    assert "FAIL  qemu" in r.stdout and "fix: install QEMU at /opt/none/qemu-system-x86_64" in r.stdout


def test_kvm_wanted(vm, write_profile):
    path = write_profile('name = "x"\naccel = "kvm"\n')
    code, report = doctor(vm, str(path))
    kvm = check(report, "kvm")
    if accel.kvm_problem():
        assert code == 1 and kvm["status"] == "fail" and 'accel = "auto"' in kvm["fix"]
    else:
        assert kvm["status"] == "pass"


def test_missing_bridge_and_acl(vm, write_profile, bridge_conf):
    vm.netns.ip("link", "add", "br7", "type", "bridge")
    bridge_conf.parent.mkdir(exist_ok=True)
    bridge_conf.write_text("allow br8\n")
    path = write_profile(
        'name = "x"\naccel = "tcg"\n'
        '[[nics]]\nid = "a"\ntype = "bridge"\nbridge = "br7"\nvia = "helper"\n'
        '[[nics]]\nid = "b"\ntype = "bridge"\nbridge = "nosuchbr"\nvia = "tap"\n'
    )
    code, report = doctor(vm, str(path))
    assert code == 1
    a, b = check(report, "nic a (bridge)"), check(report, "nic b (bridge)")
    assert a["status"] == "fail" and "allow br7" in a["fix"] and "/etc/qemu/bridge.conf" in a["fix"]
    assert 'as root, via = "tap" in nics[0]' in a["fix"]  # root needs no ACL at all
    assert b["status"] == "fail" and "no Linux bridge 'nosuchbr'" in b["detail"]


def test_macvtap_parent_and_vhost(vm, write_profile):
    path = write_profile(
        'name = "x"\naccel = "tcg"\n'
        '[[nics]]\nid = "m"\ntype = "macvtap"\nparent = "nosuch0"\n'
        '[[nics]]\nid = "v"\ntype = "bridge"\nbridge = "br0"\nvhost = "on"\n'
    )
    code, report = doctor(vm, str(path))
    assert code == 1
    assert check(report, "nic m (macvtap)")["status"] == "fail"
    assert "nosuch0" in check(report, "nic m (macvtap)")["detail"]
    vhost = check(report, "/dev/vhost-net")
    if vhost["status"] != "pass":
        assert vhost["status"] == "fail" and vhost["fix"] == "modprobe vhost_net"


def test_forwarded_port_taken(vm, write_profile):
    holder = vm.netns.popen(
        "python3",
        "-c",
        "import socket,time; s=socket.socket(); s.bind(('127.0.0.1', 2299)); s.listen(); time.sleep(60)",
    )
    try:
        time.sleep(0.5)
        path = write_profile('name = "x"\naccel = "tcg"\n[[nics]]\nhostfwd = ["tcp::2299-:22"]\n')
        code, report = doctor(vm, str(path))
        nic = check(report, "nic net0 (user)")
        assert code == 1 and nic["status"] == "fail" and "127.0.0.1:2299/tcp cannot be bound" in nic["detail"]
    finally:
        holder.kill()
        holder.wait()


def test_disk_in_use_by_another_vm(vm, write_profile, tmp_path):
    disk = tmp_path / "disk.raw"
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(disk), "16M"], check=True)
    drive = f'[[drives]]\nfile = "{disk}"\nformat = "raw"\n'
    first = write_profile(f'name = "one"\naccel = "tcg"\nmemory = "64M"\n{drive}', "one")
    assert vm("up", str(first)).returncode == 0
    try:
        second = write_profile(f'name = "two"\naccel = "tcg"\n{drive}', "two")
        code, report = doctor(vm, str(second))
        d = check(report, "drives[0]")
        assert code == 1 and d["status"] == "fail" and "qemu-system-x86" in d["detail"]
    finally:
        vm("down", "one", "--force")
    code, report = doctor(vm, str(second))
    assert check(report, "drives[0]")["status"] == "pass"


def test_a_looping_backing_chain_fails_and_a_base_outside_warns(vm, tmp_path):
    from tests.guest.test_disks import looping_chain

    a, _ = looping_chain(tmp_path)
    (tmp_path / "profile").mkdir()
    path = tmp_path / "profile" / "x.toml"
    path.write_text(
        f'name = "x"\naccel = "tcg"\n[[drives]]\nfile = "{a}"\n[[drives]]\nfile = "o.qcow2"\nbacking = "../base.img"\n'
    )
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(tmp_path / "base.img"), "16M"], check=True)
    code, report = doctor(vm, str(path))
    images = check(report, "disk images")
    assert code == 1 and images["status"] == "fail"
    assert (
        images["detail"] == f"drives[0].file: the backing chain of {a} loops: its link '{a}' leads back into the chain"
    )
    outside = check(report, "drives[1].backing")
    assert outside["status"] == "warn" and f"{tmp_path}/base.img lies outside the profile's folder" in outside["detail"]

    a.unlink()
    path.write_text('name = "x"\naccel = "tcg"\n[[drives]]\nfile = "o.qcow2"\nbacking = "base.img"\n')
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(tmp_path / "profile" / "base.img"), "16M"], check=True)
    code, report = doctor(vm, str(path))
    assert check(report, "disk images")["status"] == "pass"
    assert not [c for c in report["checks"] if c["name"] == "drives[0].backing"]


def test_forward_drop_with_bridge_netfilter(vm, write_profile):
    vm.netns.run("iptables", "-P", "FORWARD", "DROP", check=True)
    if vm.netns.run("cat", "/proc/sys/net/bridge/bridge-nf-call-iptables").stdout.strip() != "1":
        pytest.fail("br_netfilter is not active in this namespace; the check cannot be made to fail here")
    vm.netns.ip("link", "add", "br0", "type", "bridge")
    path = write_profile('name = "x"\naccel = "tcg"\n[[nics]]\ntype = "bridge"\nbridge = "br0"\nvia = "tap"\n')
    code, report = doctor(vm, str(path))
    nf = check(report, "bridge netfilter")
    assert code == 1 and nf["status"] == "fail" and "bridge-nf-call-iptables=0" in nf["fix"]


def test_bridge_netfilter_decision():
    assert bridge_netfilter_check(None, "DROP").status == "pass"
    assert bridge_netfilter_check("0", "DROP").status == "pass"
    assert bridge_netfilter_check("1", "ACCEPT").status == "pass"
    assert bridge_netfilter_check("1", "DROP").status == "warn"
    assert bridge_netfilter_check("1", "DROP", needed=True).status == "fail"


def test_libvirt_and_ovs_unreachable(vm, write_profile):
    path = write_profile(
        'name = "x"\naccel = "tcg"\n'
        # A socket that cannot exist, so that a libvirtd running elsewhere on the machine does not answer.
        '[[nics]]\nid = "l"\ntype = "network"\nnetwork = "default"\nuri = "qemu:///system?socket=/nonexistent/libvirt-sock"\n'
        '[[nics]]\nid = "o"\ntype = "ovs"\nbridge = "ovsbr0"\n'
    )
    code, report = doctor(vm, str(path))
    assert code == 1
    lv = check(report, "libvirt")
    assert lv["status"] == "fail" and "/nonexistent/libvirt-sock" in lv["detail"] and "libvirtd" in lv["fix"]
    ovs = check(report, "openvswitch")
    assert ovs["status"] == "fail" and "ovs" in ovs["fix"].lower()


def test_cpu_host_without_kvm_and_nothing_to_boot(vm, write_profile):
    path = write_profile('name = "x"\naccel = "tcg"\ncpu = "host"\n')
    code, report = doctor(vm, str(path))
    cpu, boot = check(report, "cpu"), check(report, "boot")
    assert code == 1 and cpu["status"] == "fail" and 'cpu = "max"' in cpu["fix"]
    assert boot["status"] == "fail" and "nothing to boot" in boot["detail"] and "[[drives]]" in boot["fix"]
    auto = write_profile('name = "y"\ncpu = "host,+vmx"\nkernel = "/boot/k"\n', "y")
    code, report = doctor(vm, str(auto))
    expected = "pass" if accel.kvm_problem() is None else "fail"
    assert check(report, "cpu")["status"] == expected and check(report, "boot")["status"] == "pass"


def test_boot_decisions(tmp_path):
    import tomllib

    from vmrun.doctor import boot_check, host_cpu_check
    from vmrun.profile.load import parse_profile

    def profile(text: str):
        return parse_profile(tomllib.loads(text), str(tmp_path / "p.toml"), default_name="p")

    assert boot_check(profile('[[nics]]\ntype = "bridge"\nbridge = "br0"\n')).status == "warn"  # PXE may answer
    assert boot_check(profile('[[nics]]\ntype = "user"\n')).status == "fail"
    assert boot_check(profile('extra_args = ["-drive", "file=x.img"]\n')).status == "pass"
    assert boot_check(profile('[[drives]]\nfile = "d.qcow2"\n')).detail == "boots from drives[0]"
    assert host_cpu_check(profile('cpu = "host"\n'), None).status == "pass"
    assert host_cpu_check(profile('cpu = "host"\naccel = "kvm"\n'), "no KVM").status == "fail"


def test_every_missing_file_is_listed(vm, write_profile, tmp_path):
    """`up` stops at the first missing file in one line; doctor lists them all, so one run shows what to fill in."""
    path = write_profile(
        f'name = "x"\naccel = "tcg"\ncdrom = "{tmp_path}/installer.iso"\n'
        f'[[drives]]\nfile = "{tmp_path}/drivers.iso"\nmedia = "cdrom"\n'
    )
    code, report = doctor(vm, str(path))
    files = [c["detail"] for c in report["checks"] if c["name"] == "files"]
    assert code == 1 and files == [
        f"cdrom: {tmp_path}/installer.iso does not exist",
        f"drives[0].file: {tmp_path}/drivers.iso does not exist",
    ]
    r = vm("up", str(path))
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].endswith(
        f"cdrom: {tmp_path}/installer.iso does not exist"
    )
