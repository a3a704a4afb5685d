"""The boot order and menu (``boot``, ``boot_menu``) as argv parts (pure), and where each device's
bootindex comes from.

SeaBIOS follows ``-boot order=`` (``d`` the first CD-ROM, ``c`` the first disk, ``n`` the first NIC)
and ``once=d`` (`up --cdrom`). OVMF ignores both: it boots in bootindex order, so under UEFI the
first CD-ROM, disk and NIC carry ``bootindex`` = their place in ``boot`` (from 1; `up --cdrom`'s
CD-ROM gets 0). A bootindex needs a ``-device``: the disk is then written as ``-drive if=none`` plus
its device (argv.py), which profile/checks.py makes sure it can be. ``menu=on`` works for both: OVMF
takes its wait as the boot manager's timeout.
"""

from __future__ import annotations

from vmrun.profile.model import BootDevice, Profile
from vmrun.qemuopts import OptValue, opts

LETTER = {BootDevice.CDROM: "d", BootDevice.DISK: "c", BootDevice.NETWORK: "n"}


def boot_args(p: Profile, *, once_cdrom: bool, uefi: bool) -> list[str]:
    pairs: list[tuple[str, OptValue]] = []
    if not uefi:
        if p.boot:
            pairs.append(("order", "".join(LETTER[b] for b in p.boot)))
        if once_cdrom:
            pairs.append(("once", "d"))
    if p.boot_menu:
        pairs.append(("menu", True))
    return ["-boot", opts(None, pairs)] if pairs else []


def bootindex(p: Profile, what: BootDevice, *, uefi: bool) -> int | None:
    """The bootindex of the first ``what`` under UEFI (None: it has none, or the firmware is SeaBIOS)."""
    if not uefi or what not in p.boot:
        return None
    return p.boot.index(what) + 1
