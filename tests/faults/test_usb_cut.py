"""`usb add` and `usb del` killed right after QEMU did one of their steps (as tests/faults/test_hotplug_cut.py
does it for NICs): the next `usb del` finishes the job, nothing of the device is left, its id is free again.

No guest OS is needed (BARE): QEMU plugs and unplugs a USB device (and its xhci) without asking the guest.
"""

from __future__ import annotations

import json

import pytest

from tests.faults.qmpcut import QmpCut
from tests.faults.test_hotplug_cut import killed_at
from tests.faults.util import BARE, NAME, no_traceback

pytestmark = [pytest.mark.root, pytest.mark.guest]

USB = '[[usb]]\nvendor = "046d"\nproduct = "c52b"\nid = "receiver"\n'


def peripherals(vm) -> dict[str, str]:
    r = vm("qmp", NAME, "qom-list", '{"path": "/machine/peripheral"}')
    assert r.returncode == 0, r.stderr
    return {c["name"]: c["type"] for c in json.loads(r.stdout) if c["name"] != "type"}


def recorded(vm) -> dict[str, str]:
    usb = json.loads((vm.runtime_dir / NAME / "state.json").read_text())["usb"]
    return {u["id"]: u["phase"] for u in usb}


def assert_gone(vm, usb_id: str) -> None:
    assert usb_id not in peripherals(vm) and usb_id not in recorded(vm)
    [entry] = json.loads(vm("ps", "--json").stdout)
    assert usb_id not in [u["id"] for u in entry["usb"]]
    r = vm("usb", "add", NAME, "1234:5678", "--id", usb_id)  # the id is free again
    assert r.returncode == 0, r.stderr
    assert vm("usb", "del", NAME, usb_id).returncode == 0


@pytest.mark.parametrize("first", ["controller", "device"])
def test_usb_add_killed_after_device_add_is_named_and_finished_by_usb_del(vm, write_profile, first):
    """``controller``: a VM without xhci, killed once QEMU plugged it; ``device``: killed once QEMU has the usb-host."""
    assert vm("up", str(write_profile(BARE + (USB if first == "device" else ""), NAME))).returncode == 0
    try:
        with QmpCut(vm.runtime_dir / NAME, command="device_add") as cut:
            killed_at(vm, cut, "usb", "add", NAME, "1234:abcd", "--id", "cam")
        assert recorded(vm)["cam"] == "adding"
        devices = peripherals(vm)
        assert "vmrun-xhci" in devices and ("cam" in devices) == (first == "device")
        if first == "device":
            listed = {d["id"]: d for d in json.loads(vm("usb", "list", NAME, "--json").stdout)}
            assert listed["cam"]["origin"] == "interrupted add"

        r = vm("usb", "add", NAME, "1234:abcd", "--id", "cam")
        assert r.returncode == 2
        no_traceback(r)
        assert "'cam' is already the id of a device of bare (USB 1234:abcd, left by an interrupted usb add)" in r.stderr
        assert f"hint: vmrun usb del {NAME} cam" in r.stderr

        r = vm("usb", "del", NAME, "cam")
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == f"{NAME}: removed cam" and r.stderr == ""
        assert_gone(vm, "cam")
    finally:
        vm("down", NAME, "--force")


@pytest.mark.parametrize("step", [{"command": "device_del"}, {"event": "DEVICE_DELETED"}])
def test_usb_del_killed_after_a_step_is_finished_by_the_next(vm, write_profile, step):
    assert vm("up", str(write_profile(BARE + USB, NAME))).returncode == 0
    try:
        with QmpCut(vm.runtime_dir / NAME, **step) as cut:
            killed_at(vm, cut, "usb", "del", NAME, "receiver")
        assert recorded(vm)["receiver"] == "removing"
        r = vm("usb", "del", NAME, "receiver")
        assert r.returncode == 0, r.stderr
        no_traceback(r)
        assert r.stdout.strip() == f"{NAME}: removed receiver"
        assert_gone(vm, "receiver")
    finally:
        vm("down", NAME, "--force")
