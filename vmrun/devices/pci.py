"""``[[pci]]``: host PCI functions passed to the guest through VFIO: the argv part (pure) and the host
checks `up` and `doctor` make first (sysfs only, nothing changed).

On the qemu engine vmrun binds nothing: QEMU opens ``/dev/vfio/GROUP``, which exists only when the
IOMMU is on and every device of the function's IOMMU group is bound to vfio-pci (or to no driver,
pci-stub or pcieport, which the kernel lets VFIO share a group with). What is missing is refused in
one line naming the step that fixes it. Under libvirt the <hostdev managed='yes'> makes libvirt
rebind the function itself (engines/libvirt/xmlusb.py): the engines differ there.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from vmrun.errors import PreflightError
from vmrun.profile.fields import option_pairs
from vmrun.profile.model import PciDevice, Profile
from vmrun.qemuopts import opts

SYSFS = Path("/sys")
DEV = Path("/dev")
# Drivers a device may have while another of its IOMMU group is given to VFIO (driver_managed_dma).
SHARES_GROUP = {"vfio-pci", "pci-stub", "pcieport"}
PORT = "vmrun-pci{}"  # on q35 each function gets a PCIe root port of its own, as libvirt gives it
CHASSIS = 200  # + index; vmrun's hot-plug ports use 100 + index


class Problem(NamedTuple):
    """What stands between the host and VFIO for one function, and the step that fixes it."""

    reason: str
    hint: str
    binding: bool = False  # only the binding to vfio-pci is missing: what a managed libvirt hostdev does itself


def pci_args(p: Profile) -> list[str]:
    argv: list[str] = []
    for i, dev in enumerate(p.pci):
        device = [("host", dev.host), ("id", f"vmrun-vfio{i}")]
        if p.q35:
            argv += ["-device", opts("pcie-root-port", [("id", PORT.format(i)), ("chassis", CHASSIS + i)])]
            device.append(("bus", PORT.format(i)))
        argv += ["-device", opts("vfio-pci", device + option_pairs(dev.options or ""))]
    return argv


def preflight(profile: Profile) -> None:
    for i, dev in enumerate(profile.pci):
        problem = host_problem(dev)
        if problem is not None:
            raise PreflightError(problem.reason, source=profile.source, field=f"pci[{i}].host", hint=problem.hint)


def host_problem(dev: PciDevice, sysfs: Path = SYSFS, dev_dir: Path = DEV) -> Problem | None:
    """What stands between this host and VFIO for ``dev``; None: ready."""
    device = sysfs / "bus/pci/devices" / dev.host
    if not device.exists():
        return Problem(f"no PCI device {dev.host} on this host", "lspci -D lists the host's PCI functions")
    groups = sysfs / "kernel/iommu_groups"
    if not _entries(groups):
        return Problem(
            f"the IOMMU is off ({groups} is empty): {dev.host} cannot be given to VFIO",
            "enable VT-d / AMD-Vi in the firmware and boot with intel_iommu=on (Intel) or amd_iommu=on (AMD)",
        )
    try:
        group = os.path.basename(os.readlink(device / "iommu_group"))
    except OSError:
        return Problem(f"{dev.host} is in no IOMMU group", "the IOMMU does not cover this device; pass another")
    members = sorted(_entries(groups / group / "devices")) or [dev.host]
    bound = {m: _driver(sysfs / "bus/pci/devices" / m) for m in members}
    wrong = [m for m in members if bound[m] is not None and bound[m] not in SHARES_GROUP]
    if dev.host not in wrong and bound[dev.host] != "vfio-pci":
        wrong.insert(0, dev.host)
    if wrong:
        said = ", ".join(f"{m} ({bound[m] or 'no driver'})" for m in wrong)
        return Problem(
            f"IOMMU group {group} of {dev.host} is not given to VFIO: {said} must be bound to vfio-pci",
            "; ".join(bind_steps(m) for m in wrong),
            binding=True,
        )
    if not (dev_dir / "vfio" / group).exists():
        return Problem(
            f"/dev/vfio/{group} does not exist (IOMMU group {group} of {dev.host})", "modprobe vfio-pci", binding=True
        )
    return None


def bind_steps(address: str) -> str:
    """The exact step that gives a function to vfio-pci: driverctl, or the sysfs writes it makes."""
    sysdev = f"/sys/bus/pci/devices/{address}"
    return (
        f"driverctl set-override {address} vfio-pci (or: modprobe vfio-pci; "
        f"echo vfio-pci > {sysdev}/driver_override; echo {address} > {sysdev}/driver/unbind; "
        f"echo {address} > /sys/bus/pci/drivers_probe)"
    )


def _entries(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


def _driver(device: Path) -> str | None:
    try:
        return os.path.basename(os.readlink(device / "driver"))
    except OSError:
        return None
