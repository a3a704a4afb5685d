"""[[usb]] and [[pci]] on the qemu engine: the keys and their refusals, the argv parts (pure), what
`usb add` is given, and the VFIO host check against a sysfs tree laid out as the kernel's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vmrun.argv import build_argv
from vmrun.devices import pci, usb, usbhost
from vmrun.engines.common import new_nic, new_usb
from vmrun.errors import PreflightError, ProfileError
from vmrun.profile import load_profile
from vmrun.profile.model import Accel, PciDevice, UsbDevice
from vmrun.show import option_lines

USB = '[[usb]]\nvendor = "046D"\nproduct = "0xC52B"\nid = "receiver"\n[[usb]]\nhost = "1-2.3"\n'


def profile(write_profile, text: str, machine: str = "pc"):
    return load_profile(str(write_profile(f'name = "w"\naccel = "tcg"\nmachine = "{machine}"\n{text}', "w")))


def devices(argv: list[str]) -> list[str]:
    return [line[1] for line in option_lines(argv) if line[0] == "-device"]


def test_usb_argv_an_xhci_of_vmruns_own_then_each_device_on_its_bus(write_profile):
    p = profile(write_profile, USB)
    assert p.usb == (UsbDevice("receiver", "046d", "c52b"), UsbDevice("usb1", host="1-2.3"))
    assert devices(build_argv(p, {}, qemu="qemu", accel=Accel.TCG)) == [
        "qemu-xhci,id=vmrun-xhci",
        "usb-host,bus=vmrun-xhci.0,vendorid=0x046d,productid=0xc52b,id=receiver",
        "usb-host,bus=vmrun-xhci.0,hostbus=1,hostport=2.3,id=usb1",
    ]


def test_no_usb_no_controller(write_profile):
    assert devices(build_argv(profile(write_profile, ""), {}, qemu="qemu", accel=Accel.TCG)) == []


def test_usb_hotplug_arguments():
    assert usb.controller_device("vmrun-hp0") == {"driver": "qemu-xhci", "id": "vmrun-xhci", "bus": "vmrun-hp0"}
    assert usb.controller_device(None) == {"driver": "qemu-xhci", "id": "vmrun-xhci"}
    assert usb.host_device(UsbDevice("r", "046d", "c52b")) == {
        "driver": "usb-host",
        "id": "r",
        "bus": "vmrun-xhci.0",
        "vendorid": 0x046D,
        "productid": 0xC52B,
    }
    assert usb.host_device(UsbDevice("p", host="3-1.4"))["hostport"] == "1.4"


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ("[[usb]]\n", "usb[0].vendor", "names no device"),
        ('[[usb]]\nvendor = "046d"\n', "usb[0].product", "a vendor needs its product"),
        ('[[usb]]\nproduct = "c52b"\n', "usb[0].vendor", "a product needs its vendor"),
        ('[[usb]]\nhost = "1-2"\nvendor = "046d"\n', "usb[0].vendor", "not both"),
        ('[[usb]]\nvendor = "46d"\nproduct = "c52b"\n', "usb[0].vendor", "is not a USB id"),
        ('[[usb]]\nhost = "1:2"\n', "usb[0].host", "is not a USB bus and port"),
        ('[[usb]]\nhost = "0-2"\n', "usb[0].host", "is not a USB bus and port"),
        ('[[nics]]\n[[usb]]\nid = "net0"\nhost = "1-1"\n', "usb[0].id", "already the id of nics[0]"),
        ('[[usb]]\nhost = "1-1"\nid = "a"\n[[usb]]\nhost = "1-2"\nid = "a"\n', "usb[1].id", "already the id of usb[0]"),
        ("[[pci]]\n", "pci[0].host", "is required"),
        ('[[pci]]\nhost = "0000:01:00.8"\n', "pci[0].host", "is not a PCI address"),
        ('[[pci]]\nhost = "0000:01:20.0"\n', "pci[0].host", "is not a PCI address"),
        ('[[pci]]\nhost = "01:00.0"\n[[pci]]\nhost = "0000:01:00.0"\n', "pci[1].host", "already passed by pci[0]"),
    ],
)
def test_bad_keys_are_one_line_naming_the_field(write_profile, text, field, message):
    with pytest.raises(ProfileError) as e:
        profile(write_profile, text)
    assert e.value.field == field and message in e.value.reason and "\n" not in str(e.value)


def test_pci_argv_root_bus_on_pc_own_root_port_on_q35(write_profile):
    text = '[[pci]]\nhost = "01:00.0"\n[[pci]]\nhost = "0000:01:00.1"\n'
    assert profile(write_profile, text).pci == (PciDevice("0000:01:00.0"), PciDevice("0000:01:00.1"))
    assert devices(build_argv(profile(write_profile, text), {}, qemu="qemu", accel=Accel.TCG)) == [
        "vfio-pci,host=0000:01:00.0,id=vmrun-vfio0",
        "vfio-pci,host=0000:01:00.1,id=vmrun-vfio1",
    ]
    q35 = profile(write_profile, text, machine="q35")
    assert devices(build_argv(q35, {}, qemu="qemu", accel=Accel.TCG))[-4:] == [
        "pcie-root-port,id=vmrun-pci0,chassis=200",
        "vfio-pci,host=0000:01:00.0,id=vmrun-vfio0,bus=vmrun-pci0",
        "pcie-root-port,id=vmrun-pci1,chassis=201",
        "vfio-pci,host=0000:01:00.1,id=vmrun-vfio1,bus=vmrun-pci1",
    ]


def test_usb_add_argument_and_id():
    from vmrun.profile.model import Profile

    p = Profile("g", "/g.toml")
    taken = [("net0", "nic", "NIC net0", "running"), ("usb0", "usb", "USB 1-1", "running")]
    assert new_usb("046D:C52B", None, p, taken) == UsbDevice("usb1", "046d", "c52b")
    assert new_usb("2-1.4", "cam", p, taken) == UsbDevice("cam", host="2-1.4")
    for text, usb_id, field, message in [
        ("046d", None, "046d", "neither VENDOR:PRODUCT"),
        ("046d:c5", None, "046d:c5", "is not a USB id"),
        ("1-0", None, "1-0", "is not a USB bus and port"),
        ("046d:c52b", "net0", "--id", "already the id of a device of g (NIC net0)"),
        ("046d:c52b", "a,b", "--id a,b", "is not a QEMU id"),
    ]:
        with pytest.raises(ProfileError) as e:
            new_usb(text, usb_id, p, taken)
        assert e.value.field == field and message in e.value.reason, e.value
    with pytest.raises(ProfileError) as e:  # an id a cut-short add still holds: its del finishes it
        new_usb("046d:c52b", "net1", p, [("net1", "nic", "NIC net1", "adding")])
    assert "(NIC net1, left by an interrupted nic add)" in e.value.reason and e.value.hint == "vmrun nic del g net1"
    with pytest.raises(ProfileError, match="already the id of a USB device of g"):
        new_nic({"type": "user", "id": "usb0"}, p, [("net0", None, "running")], ["usb0"])


# -- the VFIO host check, on a sysfs tree laid out as the kernel's ------------------------------------


def fake_host(tmp_path: Path, drivers: dict[str, str | None], *, iommu: bool = True, dev_vfio: bool = True) -> Path:
    """/sys with the functions of ``drivers`` (address -> bound driver) in IOMMU group 7, /dev/vfio/7."""
    sysfs = tmp_path / "sys"
    (sysfs / "kernel/iommu_groups").mkdir(parents=True)
    group = sysfs / "kernel/iommu_groups/7"
    if iommu:
        (group / "devices").mkdir(parents=True)
    for address, driver in drivers.items():
        device = sysfs / "bus/pci/devices" / address
        device.mkdir(parents=True)
        if iommu:
            os.symlink(group, device / "iommu_group")
            os.symlink(device, group / "devices" / address)
        if driver:
            (sysfs / "bus/pci/drivers" / driver).mkdir(parents=True, exist_ok=True)
            os.symlink(sysfs / "bus/pci/drivers" / driver, device / "driver")
    if dev_vfio:
        (tmp_path / "dev/vfio").mkdir(parents=True)
        (tmp_path / "dev/vfio/7").touch()
    return sysfs


def problem(tmp_path, drivers, address="0000:01:00.0", **kw):
    sysfs = fake_host(tmp_path, drivers, **kw)
    return pci.host_problem(PciDevice(address), sysfs, tmp_path / "dev")


def test_vfio_ready_when_the_whole_group_is_given_to_it(tmp_path):
    assert (
        problem(tmp_path, {"0000:01:00.0": "vfio-pci", "0000:01:00.1": "vfio-pci", "0000:00:01.0": "pcieport"}) is None
    )


def test_vfio_refusals_name_what_is_missing_and_the_step(tmp_path):
    missing = problem(tmp_path / "a", {"0000:01:00.0": "vfio-pci"}, "0000:02:00.0")
    assert missing.reason == "no PCI device 0000:02:00.0 on this host" and not missing.binding
    off = problem(tmp_path / "b", {"0000:01:00.0": None}, iommu=False)
    assert off.reason.startswith("the IOMMU is off") and "intel_iommu=on" in off.hint and not off.binding
    bound = problem(tmp_path / "c", {"0000:01:00.0": "nvidia", "0000:01:00.1": "snd_hda_intel"})
    assert bound.reason == (
        "IOMMU group 7 of 0000:01:00.0 is not given to VFIO: 0000:01:00.0 (nvidia), 0000:01:00.1 (snd_hda_intel) "
        "must be bound to vfio-pci"
    )
    assert bound.binding  # what a managed libvirt hostdev does itself
    assert "driverctl set-override 0000:01:00.0 vfio-pci" in bound.hint
    assert "driverctl set-override 0000:01:00.1 vfio-pci" in bound.hint
    assert "echo vfio-pci > /sys/bus/pci/devices/0000:01:00.1/driver_override" in bound.hint
    assert "echo 0000:01:00.1 > /sys/bus/pci/devices/0000:01:00.1/driver/unbind" in bound.hint
    assert "echo 0000:01:00.1 > /sys/bus/pci/drivers_probe" in bound.hint
    unbound = problem(tmp_path / "d", {"0000:01:00.0": None})  # unbound: fine for a group member, not for it
    assert "0000:01:00.0 (no driver)" in unbound.reason
    no_dev = problem(tmp_path / "e", {"0000:01:00.0": "vfio-pci"}, dev_vfio=False)
    assert no_dev == ("/dev/vfio/7 does not exist (IOMMU group 7 of 0000:01:00.0)", "modprobe vfio-pci", True)


def test_vfio_refused_on_this_host_before_anything_starts(write_profile):
    """This host has no IOMMU (HOST-NOTES): an existing function is refused for that, a missing one as missing.
    (On a host with an IOMMU its first function, a host bridge, is refused as not given to vfio-pci.)"""
    existing = sorted(os.listdir("/sys/bus/pci/devices"))[0]
    with pytest.raises(PreflightError) as e:
        pci.preflight(profile(write_profile, f'[[pci]]\nhost = "{existing}"\n'))
    assert e.value.field == "pci[0].host" and "\n" not in str(e.value)
    if not os.listdir("/sys/kernel/iommu_groups"):
        assert e.value.reason.startswith("the IOMMU is off")
    else:
        assert "is not given to VFIO" in e.value.reason
    with pytest.raises(PreflightError, match="no PCI device 0000:7f:1f.7 on this host"):
        pci.preflight(profile(write_profile, '[[pci]]\nhost = "0000:7f:1f.7"\n'))


def test_usb_presence_for_doctor(tmp_path):
    devices_dir = tmp_path / "usb"
    assert "has no USB bus" in usbhost.absent(UsbDevice("r", "046d", "c52b"), devices_dir)
    (devices_dir / "1-2").mkdir(parents=True)
    (devices_dir / "1-2/idVendor").write_text("046d\n")
    (devices_dir / "1-2/idProduct").write_text("c52b\n")
    assert usbhost.absent(UsbDevice("r", "046d", "c52b"), devices_dir) is None
    assert usbhost.absent(UsbDevice("r", host="1-2"), devices_dir) is None
    assert usbhost.absent(UsbDevice("r", "046d", "c52c"), devices_dir) == "no 046d:c52c is plugged into this host"
    assert usbhost.absent(UsbDevice("r", host="1-3"), devices_dir) == "nothing is plugged at 1-3"
