"""The domain XML's <disk> elements: [[drives]] and the CD-ROM (a part of :class:`vmrun.engines.libvirt.xml._Build`).

A ``media = "cdrom"`` drive is a read-only <disk device='cdrom'>; ``interface = "sata"`` is libvirt's
sata bus (q35's own AHCI; on pc libvirt adds one), where the qemu engine adds an AHCI of its own.
The cloud-init seed that `up` made (``self.seed``) is one more read-only CD-ROM, after them.
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

from vmrun.engines.libvirt.xmlbase import AIO, CACHE, FORMATS, letters, pci_address, sub
from vmrun.profile.model import Drive


class DiskXml:
    def disks(self, devices: ET.Element) -> None:
        used: dict[str, int] = {}

        def target(prefix: str) -> str:
            n = used.get(prefix, 0)
            used[prefix] = n + 1
            return prefix + letters(n)

        for i, d in enumerate(self.p.drives):
            bus, prefix, device = self.bus(d, f"drives[{i}].interface")
            device = "cdrom" if d.cdrom else device
            disk = sub(devices, "disk", type="block" if d.file.startswith("/dev/") else "file", device=device)
            sub(
                disk,
                "driver",
                name="qemu",
                type=self.format(d, i),
                io=self.choice(d.aio, AIO, f"drives[{i}].aio"),
                cache=self.choice(d.cache, CACHE, f"drives[{i}].cache"),
            )
            if d.file.startswith("/dev/"):
                sub(disk, "source", dev=d.file)
            else:
                sub(disk, "source", file=d.file)
            sub(disk, "target", dev=target(prefix), bus=bus)
            if d.addr is not None:
                pci_address(disk, d.addr)
            if d.readonly:
                sub(disk, "readonly")
            elif d.snapshot:
                # snapshot=on: writes go to a throw-away overlay; libvirt's <transient/> is that overlay.
                sub(disk, "transient")
        if self.p.cdrom:
            bus, prefix = ("sata", "sd") if self.q35 else ("ide", "hd")
            disk = sub(devices, "disk", type="file", device="cdrom")
            sub(disk, "driver", name="qemu", type="raw")
            sub(disk, "source", file=self.p.cdrom)
            # -cdrom's place, IDE index 2 (hdc, or sdc on q35's AHCI), unless disks already took it.
            dev = prefix + "c" if used.get(prefix, 0) <= 2 else target(prefix)
            sub(disk, "target", dev=dev, bus=bus)
            sub(disk, "readonly")
        if self.seed is not None:
            self.seed_disk(devices)

    def seed_disk(self, devices: ET.Element) -> None:
        """The cloud-init seed, where the qemu engine's ``-drive index=3,media=cdrom`` puts it: the IDE secondary
        slave (hdd) on pc, AHCI port 3 (sdd) on q35; the next free name if the drives took that one."""
        bus, prefix = ("sata", "sd") if self.q35 else ("ide", "hd")
        taken = {t.get("dev") for t in devices.iterfind("disk/target")}
        dev = next(prefix + letters(n) for n in itertools.count(3) if prefix + letters(n) not in taken)
        disk = sub(devices, "disk", type="file", device="cdrom")
        sub(disk, "driver", name="qemu", type="raw")
        sub(disk, "source", file=self.seed)
        sub(disk, "target", dev=dev, bus=bus)
        sub(disk, "readonly")

    def bus(self, d: Drive, where: str) -> tuple[str, str, str]:
        """(bus, target prefix, device) for QEMU's ``if=``; IDE on q35 is its AHCI, as QEMU does it."""
        if d.interface == "ide":
            return ("sata", "sd", "disk") if self.q35 else ("ide", "hd", "disk")
        buses = {
            "virtio": ("virtio", "vd", "disk"),
            "scsi": ("scsi", "sd", "disk"),
            "sata": ("sata", "sd", "disk"),
            "floppy": ("fdc", "fd", "floppy"),
        }
        if d.interface not in buses:
            raise self.refuse(where, f"{d.interface!r} has no libvirt disk bus", hint="use virtio, ide, sata or scsi")
        return buses[d.interface]

    def format(self, d: Drive, i: int) -> str | None:
        if d.format is None and d.cdrom:
            return "raw"  # an ISO, as QEMU's probe finds it
        if d.format is None:
            if d.file.endswith(".qcow2"):
                return "qcow2"  # what QEMU's probe finds, and libvirt does not probe
            self.warnings.append(f"drives[{i}].format is unset: libvirt does not probe images and reads it as raw")
            return None
        return self.choice(d.format, FORMATS, f"drives[{i}].format")

    def choice(self, value: str | None, known: set[str], where: str) -> str | None:
        if value is not None and value not in known:
            raise self.refuse(
                where, f"{value!r} has no libvirt equivalent", hint=f"use one of {', '.join(sorted(known))}"
            )
        return value

    # -- controllers ------------------------------------------------------------------------------
