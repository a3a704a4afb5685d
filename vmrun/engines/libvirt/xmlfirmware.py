"""The domain XML's firmware: ``firmware = "uefi"`` and ``secure_boot`` (a part of :class:`vmrun.engines.libvirt.xml._Build`).

libvirt chooses the firmware itself, from the same QEMU descriptors the qemu engine reads
(``<os firmware='efi'>`` and the features asked for), and keeps the domain's NVRAM in its own
folder (``/var/lib/libvirt/qemu/nvram/NAME_VARS.fd``), made from the descriptor's template on
first start: the NVRAM is libvirt's there, not in vmrun's data folder. The features asked are
those the qemu engine's choice asks (vmrun.devices.descriptors): Secure Boot with enrolled
keys, or neither.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from vmrun.devices.firmware import ENROLLED_KEYS, SECURE_BOOT
from vmrun.engines.libvirt.xmlbase import sub
from vmrun.profile.model import Firmware


class FirmwareXml:
    def firmware(self, os_el: ET.Element) -> None:
        """``<os firmware='efi'>`` with its features; nothing for BIOS (libvirt's default, as QEMU's)."""
        p = self.p
        if p.firmware is not Firmware.UEFI:
            return
        os_el.set("firmware", "efi")
        chosen = sub(os_el, "firmware")
        state = "yes" if p.secure_boot else "no"
        for name in (ENROLLED_KEYS, SECURE_BOOT):
            sub(chosen, "feature", enabled=state, name=name)
        if p.secure_boot:
            sub(os_el, "loader", secure="yes")

    def firmware_features(self, features: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The machine's <features> (vmport, smm), with SMM on for Secure Boot, which needs it."""
        if not self.p.secure_boot:
            return features
        if ("smm", "off") in features:
            raise self.refuse("machine", "smm=off: Secure Boot needs SMM", hint="remove smm=off")
        return features if ("smm", "on") in features else [*features, ("smm", "on")]
