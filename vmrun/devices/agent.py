"""``agent = true``: the QEMU guest agent's port, the argv part (pure) and where its socket is.

The port is a ``virtserialport`` named ``org.qemu.guest_agent.0`` on a virtio-serial controller
of its own, pinned to the highest PCI slot of the root bus no pinned device holds: QEMU gives the
unpinned devices their slots in command-line order (and ``if=virtio`` drives after every
``-device``), so a controller with a slot of its own moves none of them. Under libvirt the
domain XML pins it the same way (engines/libvirt/xml.py).
"""

from __future__ import annotations

from vmrun.profile.model import Profile
from vmrun.qemuopts import opts

PORT_NAME = "org.qemu.guest_agent.0"
CONTROLLER_ID = "vmrun-agent"
CHARDEV_ID = "vmrun-qga"
LAST_SLOT = 0x1F  # q35 has its LPC, SATA and SMBus functions there


def slot(p: Profile) -> int:
    """The highest root-bus slot that neither the machine nor a pinned NIC or disk takes."""
    pinned = {_slot(a) for a in [*(n.addr for n in p.nics), *(d.addr for d in p.drives)] if a}
    first = LAST_SLOT - 1 if p.q35 else LAST_SLOT
    return next(s for s in range(first, 2, -1) if s not in pinned)


def _slot(addr: str) -> int:
    return int(addr.split(".")[0], 16)


def agent_args(p: Profile, socket: str | None) -> list[str]:
    """The controller, the socket QEMU listens on and the port; nothing with ``agent = false``, nor
    when the caller gave no socket (a pure argv of the profile's own devices, as the unit tests build)."""
    if not p.agent or socket is None:
        return []
    return [
        "-device",
        opts("virtio-serial-pci", [("id", CONTROLLER_ID), ("addr", f"0x{slot(p):x}")]),
        "-chardev",
        opts("socket", [("id", CHARDEV_ID), ("path", socket), ("server", True), ("wait", False)]),
        "-device",
        opts("virtserialport", [("bus", f"{CONTROLLER_ID}.0"), ("chardev", CHARDEV_ID), ("name", PORT_NAME)]),
    ]


def socket_for_show(profile: Profile) -> str | None:
    """Where `up` puts the agent's socket: in the VM's run folder."""
    if not profile.agent:
        return None
    from vmrun.rundir import RunDir

    return str(RunDir.for_vm(profile.name).agent)
