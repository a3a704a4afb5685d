"""The ``[[drives]]`` as argv (pure): ``-drive`` as the profile says, or ``-drive if=none`` plus a
``-device`` of its own where QEMU's ``if=`` cannot say it: a SATA disk or CD-ROM (``if=sata`` does not
exist), a virtio disk pinned to a PCI slot (QEMU 7.2 takes no ``addr`` on ``-drive``) and, under
UEFI, the first disk or CD-ROM of a boot order (a bootindex needs a device).

SATA drives sit on an AHCI controller of vmrun's, ``vmrun-sata`` (ports ``vmrun-sata.0`` to ``.5``),
on pc and q35 alike, so that they never meet the IDE/AHCI ports ``if=ide`` and ``-cdrom`` fill (on
q35, QEMU's own ICH9 AHCI). A CD-ROM (``media = "cdrom"``) is read-only; on ``ide`` or ``scsi`` it is
``-drive media=cdrom``, numbered by QEMU in argv order.
"""

from __future__ import annotations

from vmrun.profile.model import Drive, Profile
from vmrun.qemuopts import OptValue, opts

AHCI_ID = "vmrun-sata"
BOOT_DISK_ID = "vmrun-disk0"  # under UEFI with a boot order: a virtio first disk, on a -device carrying its bootindex


def drive_args(p: Profile, disk_index: int | None = None, cdrom_index: int | None = None) -> list[str]:
    """``disk_index``, ``cdrom_index``: the bootindex of the first disk and of the first CD-ROM (None: none)."""
    argv = ["-device", opts("ahci", [("id", AHCI_ID)])] if any(d.interface == "sata" for d in p.drives) else []
    first_disk = next((d for d in p.drives if not d.cdrom), None)
    first_cdrom = next((d for d in p.drives if d.cdrom), None)
    port = 0
    for i, d in enumerate(p.drives):
        index = disk_index if d is first_disk else cdrom_index if d is first_cdrom else None
        if d.interface == "sata":
            argv += _sata(d, port, index)
            port += 1
        elif index is not None and not d.cdrom:
            argv += _virtio_device(d, index, BOOT_DISK_ID)  # checks.py: a first disk with a bootindex is virtio or sata
        elif d.addr is not None and not d.cdrom:  # checks.py: only a virtio disk has an addr
            argv += _virtio_device(d, None, f"vmrun-drive{i}")
        else:
            media = ("media", "cdrom") if d.cdrom else ("media", None)
            argv += ["-drive", opts(None, [("file", d.file), ("if", d.interface), media, *_options(d)])]
    return argv


def _options(d: Drive) -> list[tuple[str, OptValue]]:
    pairs: list[tuple[str, OptValue]] = [("format", d.format), ("aio", d.aio), ("cache", d.cache)]
    return pairs + [("readonly", True if d.readonly else None), ("snapshot", True if d.snapshot else None)]


def _virtio_device(d: Drive, index: int | None, drive_id: str) -> list[str]:
    drive = opts(None, [("file", d.file), ("if", "none"), ("id", drive_id), *_options(d)])
    device = opts("virtio-blk-pci", [("drive", drive_id), ("addr", d.addr), ("bootindex", index)])
    return ["-drive", drive, "-device", device]


def _sata(d: Drive, port: int, index: int | None) -> list[str]:
    drive_id = f"{AHCI_ID}{port}"
    media = ("media", "cdrom") if d.cdrom else ("media", None)
    drive = opts(None, [("file", d.file), ("if", "none"), ("id", drive_id), media, *_options(d)])
    kind = "ide-cd" if d.cdrom else "ide-hd"
    device = opts(kind, [("drive", drive_id), ("bus", f"{AHCI_ID}.{port}"), ("bootindex", index)])
    return ["-drive", drive, "-device", device]
