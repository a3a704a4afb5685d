"""`up` means up (defects 6, 7) and what a new user met (defect 11), against real QEMU in a namespace."""

from __future__ import annotations

import json

import pytest

from tests.faults.util import assert_nothing_left, one_error, qemu_pids

pytestmark = pytest.mark.root

BARE = 'name = "bare"\naccel = "tcg"\nmemory = "64M"\n[[nics]]\nid = "net0"\nhostfwd = ["tcp::2222-:22"]\n'
NO_FORWARD = 'name = "bare"\naccel = "tcg"\nmemory = "64M"\n[[nics]]\nid = "net0"\n'


def test_qemu_dying_after_qmp_answers_is_not_up(vm, write_profile):
    """Defect 6: `up --memory 1T` said "is up"; QEMU's log said it could not allocate guest memory."""
    r = vm("up", str(write_profile(BARE)), "--memory", "1T")
    assert r.returncode == 1, r.stdout
    assert "is up" not in r.stdout
    line = one_error(r.stderr)
    assert line.startswith("vmrun: error: QEMU exited with status 1") and "cannot set up guest memory" in line
    assert_nothing_left(vm)


def test_wait_timeout_names_the_port_and_leaves_the_vm_running(vm, write_profile):
    """Defect 7: a --wait timeout said "QEMU exited with status None while booting" although the VM ran."""
    r = vm("up", str(write_profile(BARE)), "--wait", "--wait-timeout", "3")
    assert r.returncode == 1
    line = one_error(r.stderr)
    assert "the guest did not answer on port 22 (via 127.0.0.1:2222) within 3 s; bare was left running" in line
    assert "status None" not in r.stderr
    [entry] = json.loads(vm("ps", "--json").stdout)
    assert entry["status"] == "running" and entry["pid"] == qemu_pids(vm.netns)[0]
    assert vm("down", "bare", "--force").returncode == 0
    assert_nothing_left(vm)


def test_cpu_host_under_tcg_is_refused_before_starting(vm, write_profile):
    """Defect 11: an imported `cpu = "host"` under TCG said "is up" while QEMU had died."""
    path = write_profile(BARE.replace('memory = "64M"\n', 'memory = "64M"\ncpu = "host"\n'))
    r = vm("up", str(path))
    assert r.returncode == 2
    line = one_error(r.stderr)
    assert line.startswith(f'vmrun: error: {path}: cpu: cpu = "host" needs KVM')
    assert_nothing_left(vm)


def test_wait_without_a_tcp_forward_is_refused_before_starting(vm, write_profile):
    """Defect 11: `up --wait` with no TCP forward exited 2 but left the VM running."""
    r = vm("up", str(write_profile(NO_FORWARD)), "--wait")
    assert r.returncode == 2
    assert "--wait needs a TCP forward" in one_error(r.stderr)
    assert_nothing_left(vm)


def test_fwd_add_echoes_the_rule_as_typed(vm, write_profile):
    """Defect 11: `fwd add vm 18083:80` answered about "'18083:80-:1'"."""
    assert vm("up", str(write_profile(BARE))).returncode == 0
    r = vm("fwd", "add", "bare", "18083:80")
    assert r.returncode == 2
    line = one_error(r.stderr)
    assert "'18083:80' is not a forward" in line and "e.g. tcp::2222-:22" in line and "-:1" not in line
    r = vm("fwd", "del", "bare", "2222")
    assert r.returncode == 2 and "'2222' is not a forward" in one_error(r.stderr)
    assert vm("down", "bare", "--force").returncode == 0
    assert_nothing_left(vm)


def test_a_mistyped_name_gets_did_you_mean(vm, write_profile):
    """Defect 11: a mistyped VM name got only "not running"."""
    assert vm("up", str(write_profile(BARE))).returncode == 0
    for command in (["down", "bare2"], ["qmp", "bear", "query-status"], ["nic", "list", "bar"]):
        r = vm(*command)
        assert r.returncode == 2, command
        assert "not running" in r.stderr and "did you mean 'bare'?" in r.stderr, r.stderr
    assert vm("down", "bare", "--force").returncode == 0
    assert_nothing_left(vm)


def test_set_and_nic_add_errors_name_the_option(vm, write_profile):
    """Defect 11: errors from --set and from nic add options blamed the profile file."""
    path = write_profile(BARE)
    r = vm("up", str(path), "--set", "memroy=4G")
    assert r.returncode == 2
    assert one_error(r.stderr) == "vmrun: error: --set memroy=4G: unknown key"
    assert "did you mean 'memory'?" in r.stderr
    assert vm("up", str(path)).returncode == 0
    r = vm("nic", "add", "bare", "--bridge", "nosuchbr0")
    assert r.returncode == 2
    line = one_error(r.stderr)
    assert line.startswith("vmrun: error: --bridge nosuchbr0: ") and str(path) not in line
    r = vm("nic", "add", "bare", "--ovs", "br0", "--vlan", "5000")
    assert r.returncode == 2 and one_error(r.stderr).startswith("vmrun: error: --vlan 5000: ")
    assert vm("down", "bare", "--force").returncode == 0
    assert_nothing_left(vm)


def test_nic_add_network_without_libvirtd_names_the_option(vm, write_profile):
    """Issue 21, item 9: `nic add --network` with libvirtd down blamed the NIC's uri, which no option gives."""
    from tests.libvirtd import LibvirtdLock

    assert vm("up", str(write_profile(BARE))).returncode == 0
    with LibvirtdLock():  # no test's libvirtd runs meanwhile
        r = vm("nic", "add", "bare", "--network", "default")
    assert r.returncode == 2
    line = one_error(r.stderr)
    assert line.startswith("vmrun: error: --network default: cannot reach libvirt at qemu:///system: "), line
    assert vm("down", "bare", "--force").returncode == 0
    assert_nothing_left(vm)


def test_a_refused_up_leaves_no_lock_file(vm, write_profile, tmp_path):
    """Defect 1's lock lives beside the run folder: an `up` refused under it must not leave it behind."""
    missing = tmp_path / "missing.qcow2"
    r = vm("up", str(write_profile(BARE + f'[[drives]]\nfile = "{missing}"\n')))
    assert r.returncode == 2 and str(missing) in one_error(r.stderr)
    assert_nothing_left(vm)
