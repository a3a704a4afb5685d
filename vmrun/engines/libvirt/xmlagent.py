"""The domain XML's guest agent channel (a part of :class:`vmrun.engines.libvirt.xml._Build`).

``<channel type='unix'>`` with the target ``org.qemu.guest_agent.0``: libvirt makes the socket and
talks to the agent itself (``virDomainQemuAgentCommand``, ``authorizedSSHKeysSet``,
``interfaceAddresses``). Its virtio-serial controller is pinned to the highest root-bus slot no
carried NIC and no pinned device takes, so that libvirt places every other device where it did
before the agent (a controller left to libvirt would take a low slot, before the NICs).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from vmrun.devices.agent import PORT_NAME
from vmrun.engines.libvirt.xmlbase import pci_address, sub


class AgentXml:
    def agent(self, devices: ET.Element) -> None:
        p = self.p  # type: ignore[attr-defined]
        if not p.agent:
            return
        pinned = {int(a.split(".")[0], 16) for a in [*(n.addr for n in p.nics), *(d.addr for d in p.drives)] if a}
        slot = next(s for s in self.slots if s not in pinned)  # type: ignore[attr-defined]
        # The SPICE agent's channel keeps controller 0 where libvirt puts it; the guest agent has its own.
        index = 1 if p.spice and p.spice.vdagent else 0
        controller = sub(devices, "controller", type="virtio-serial", index=index)
        pci_address(controller, f"0x{slot:x}")
        channel = sub(devices, "channel", type="unix")
        sub(channel, "target", type="virtio", name=PORT_NAME)
        sub(channel, "address", type="virtio-serial", controller=index, bus=0, port=1)
