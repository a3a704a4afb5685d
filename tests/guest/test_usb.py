"""[[usb]], `vmrun usb add/list/del` and [[pci]] on the qemu engine, on a running test guest.

This host has no USB bus and no USB device (/sys/bus/usb is absent): what is proven is that QEMU
takes each usb-host at start and through hot-plug (it waits for a device that is not there:
``attached`` is false), that the xhci controller is hot-plugged where the VM has none, and that
unplug and rollback leave nothing of it. No guest can see a passed-through device here. It has no
IOMMU either: [[pci]] is refused before anything starts.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import guest_profile

pytestmark = [pytest.mark.root, pytest.mark.guest]

NIC = '[[nics]]\nid = "net0"\nhostfwd = ["tcp::8080-:80"]\n'
USB = '[[usb]]\nvendor = "046d"\nproduct = "c52b"\nid = "receiver"\n[[usb]]\nhost = "1-2.3"\n'
# A device vmrun does not know, with an id `usb add` may be given: QEMU refuses the usb-host, not vmrun.
FOREIGN = '["-no-reboot", "-device", "virtio-rng-pci,id=rng0"]'


def peripherals(vm) -> dict[str, str]:
    r = vm("qmp", "g", "qom-list", '{"path": "/machine/peripheral"}')
    assert r.returncode == 0, r.stderr
    return {c["name"]: c["type"] for c in json.loads(r.stdout) if c["name"] != "type"}


def qom(vm, device: str, prop: str):
    r = vm("qmp", "g", "qom-get", json.dumps({"path": f"/machine/peripheral/{device}", "property": prop}))
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def listed(vm) -> dict[str, dict]:
    r = vm("usb", "list", "g", "--json")
    assert r.returncode == 0, r.stderr
    return {d["id"]: d for d in json.loads(r.stdout)}


def recorded(vm) -> list[dict]:
    return json.loads((vm.runtime_dir / "g" / "state.json").read_text())["usb"]


def root_port_of(vm, device: str) -> str | None:
    """The hot-plug root port (vmrun-hpN) ``device`` sits behind on q35, from QEMU's query-pci."""
    r = vm("qmp", "g", "query-pci")
    for bus in json.loads(r.stdout):
        for dev in bus["devices"]:
            for child in dev.get("pci_bridge", {}).get("devices", []):
                if child.get("qdev_id") == device:
                    return dev["qdev_id"]
    return None


def up(vm, path) -> None:
    r = vm("up", str(path), "--wait", "--wait-timeout", "120")
    assert r.returncode == 0, r.stderr


def test_profile_usb_at_start_then_add_list_del(vm, write_profile, test_guest):
    r = vm("up", str(guest_profile(write_profile, test_guest, NIC, extra=USB)), "--wait", "--wait-timeout", "120")
    assert r.returncode == 0, r.stderr
    assert "  usb      receiver 046d:c52b" in r.stdout and "  usb      usb1 1-2.3" in r.stdout
    try:
        # QEMU has the controller and both devices, waiting for what this host does not have.
        devices = peripherals(vm)
        assert devices["vmrun-xhci"] == "child<qemu-xhci>"
        assert devices["receiver"] == devices["usb1"] == "child<usb-host>"
        assert (qom(vm, "receiver", "vendorid"), qom(vm, "receiver", "productid")) == (0x046D, 0xC52B)
        assert (qom(vm, "usb1", "hostbus"), qom(vm, "usb1", "hostport")) == (1, "2.3")
        assert qom(vm, "receiver", "attached") is False
        assert listed(vm) == {
            "receiver": {"id": "receiver", "device": "046d:c52b", "attached": False, "origin": "profile"},
            "usb1": {"id": "usb1", "device": "1-2.3", "attached": False, "origin": "profile"},
        }

        r = vm("usb", "add", "g", "1234:abcd")
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "g: added usb0 (USB 1234:abcd)"
        assert qom(vm, "usb0", "vendorid") == 0x1234
        assert listed(vm)["usb0"]["origin"] == "hot-plugged"
        [entry] = json.loads(vm("ps", "--json").stdout)
        assert {u["id"]: u["what"] for u in entry["usb"]} == {
            "receiver": "046d:c52b",
            "usb1": "1-2.3",
            "usb0": "1234:abcd",
        }
        assert "usb0:1234:abcd" in vm("ps").stdout
        shown = vm("show", "g", "--running")
        assert "hot-plugged since: USB 1234:abcd as usb0" in shown.stderr
        assert json.loads(vm("show", "g", "--running", "--json").stdout)["hotplugged_usb"] == [
            {"id": "usb0", "what": "1234:abcd", "hotplugged": True, "phase": "running"}
        ]

        # Ids are one space with the NICs'.
        for taken, held in (("receiver", "USB 046d:c52b"), ("net0", "NIC net0")):
            r = vm("usb", "add", "g", "1234:abce", "--id", taken)
            assert r.returncode == 2 and f"--id: {taken!r} is already the id of a device of g ({held})" in r.stderr
        r = vm("nic", "add", "g", "--user", "--id", "usb0")
        assert r.returncode == 2 and "'usb0' is already the id of a USB device of g" in r.stderr

        for usb_id in ("usb0", "receiver"):  # hot-plugged or from the profile
            r = vm("usb", "del", "g", usb_id)
            assert r.returncode == 0, r.stderr
            assert usb_id not in peripherals(vm)
        assert list(listed(vm)) == ["usb1"] and [u["id"] for u in recorded(vm)] == ["usb1"]
        r = vm("usb", "del", "g", "receiver")
        assert r.returncode == 2 and "g: no USB device 'receiver'" in r.stderr
        r = vm("usb", "del", "g", "net0")  # a NIC is not unplugged by `usb del`
        assert r.returncode == 2 and "net0" in peripherals(vm)
    finally:
        assert vm("down", "g", "--force").returncode == 0


@pytest.mark.parametrize("machine", ["q35", "pc"])
def test_add_plugs_an_xhci_first_and_a_refused_add_leaves_nothing(vm, write_profile, test_guest, machine):
    path = guest_profile(write_profile, test_guest, NIC, extra=f'machine = "{machine}"', extra_args=FOREIGN)
    up(vm, path)
    try:
        before = peripherals(vm)
        assert "vmrun-xhci" not in before

        # A bad bus-port is refused as typed, before QEMU is asked anything.
        r = vm("usb", "add", "g", "1-0.2")
        assert r.returncode == 2 and "1-0.2: '1-0.2' is not a USB bus and port" in r.stderr
        assert peripherals(vm) == before and recorded(vm) == []

        # QEMU refuses the usb-host (its id is taken by a device vmrun did not make): the controller this
        # add plugged goes again, and so does the record.
        r = vm("usb", "add", "g", "046d:c52b", "--id", "rng0")
        assert r.returncode == 1, r.stderr
        assert "device_add: Duplicate device ID 'rng0'" in r.stderr and "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
        assert peripherals(vm) == before and recorded(vm) == [] and listed(vm) == {}

        r = vm("usb", "add", "g", "046d:c52b", "--id", "receiver")
        assert r.returncode == 0, r.stderr
        devices = peripherals(vm)
        assert devices["vmrun-xhci"] == "child<qemu-xhci>" and devices["receiver"] == "child<usb-host>"
        port = root_port_of(vm, "vmrun-xhci")
        assert port == ("vmrun-hp0" if machine == "q35" else None)  # pc: on the root bus
        r = vm("usb", "add", "g", "3-1.4")  # the controller is there now: only the device is plugged
        assert r.returncode == 0, r.stderr
        assert listed(vm) == {
            "receiver": {"id": "receiver", "device": "046d:c52b", "attached": False, "origin": "hot-plugged"},
            "usb0": {"id": "usb0", "device": "3-1.4", "attached": False, "origin": "hot-plugged"},
        }
        for usb_id in ("receiver", "usb0"):
            assert vm("usb", "del", "g", usb_id).returncode == 0
        assert set(peripherals(vm)) == set(before) | {"vmrun-xhci"}  # the controller stays, for the next add
        assert listed(vm) == {} and recorded(vm) == []
    finally:
        assert vm("down", "g", "--force").returncode == 0
    assert not (vm.runtime_dir / "g").exists()


def test_usb_add_on_q35_without_a_free_root_port_changes_nothing(vm, write_profile, test_guest):
    path = guest_profile(write_profile, test_guest, NIC, extra='machine = "q35"\nhotplug_slots = 0')
    up(vm, path)
    try:
        before = peripherals(vm)
        r = vm("usb", "add", "g", "046d:c52b")
        assert r.returncode == 2 and "g: no free hot-plug slot (hotplug_slots = 0)" in r.stderr
        assert peripherals(vm) == before and recorded(vm) == []
    finally:
        assert vm("down", "g", "--force").returncode == 0


def test_pci_passthrough_refused_in_one_line_and_nothing_started(vm, write_profile, test_guest):
    """No IOMMU here: an existing function is refused for that; a missing one as missing. Exit 2, as every
    check `up` makes before it starts anything; `doctor` says the same, with the step."""
    existing = sorted(os.listdir("/sys/bus/pci/devices"))[0]
    iommu = bool(os.listdir("/sys/kernel/iommu_groups"))
    for host, said in ((existing, "is not given to VFIO" if iommu else "the IOMMU is off"), ("0000:7f:1f.7", "no PCI")):
        path = guest_profile(write_profile, test_guest, NIC, extra=f'[[pci]]\nhost = "{host}"')
        r = vm("up", str(path))
        assert r.returncode == 2, r.stderr
        error = next(x for x in r.stderr.splitlines() if x.startswith("vmrun: error:"))
        assert error.startswith(f"vmrun: error: {path}: pci[0].host: ") and said in error, r.stderr
        assert "Traceback" not in r.stderr and not (vm.runtime_dir / "g").exists()
        doctor = vm("doctor", str(path))
        assert doctor.returncode == 1 and said in doctor.stdout
    r = vm("up", str(guest_profile(write_profile, test_guest, NIC, extra='[[pci]]\nhost = "0000:01:00.9"')))
    assert r.returncode == 2 and "pci[0].host: '0000:01:00.9' is not a PCI address" in r.stderr
