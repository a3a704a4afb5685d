"""The everyday devices real start scripts carry: a sound card, a USB tablet and the guest's clock,
as argv parts (pure). Their domain XML is in engines/libvirt/xmleveryday.py.

The tablet sits on the machine's own USB (``-usb``: UHCI on pc, ICH9 EHCI with UHCI companions on
q35), the way start scripts write it, not on the xhci vmrun adds for ``[[usb]]``: an imported
``-usb -device usb-tablet`` keeps its layout. The bus is named: QEMU gives a device without
``bus=`` the USB bus of the controller added *last* (vmrun's xhci), and the machine's own is
``usb-bus.0``, the first USB bus made without an id.
"""

from __future__ import annotations

import os

from vmrun.profile.model import Audio, AudioBackend, Profile, Rtc
from vmrun.qemuopts import opts

AUDIODEV_ID = "snd0"
MACHINE_USB_BUS = "usb-bus.0"


def audio_args(p: Profile) -> list[str]:
    if p.audio is Audio.NONE:
        return []
    argv = ["-audiodev", opts(p.audio_backend.value, [("id", AUDIODEV_ID), ("path", wav_path(p))])]
    if p.audio is Audio.HDA:
        return argv + ["-device", "intel-hda", "-device", opts("hda-duplex", [("audiodev", AUDIODEV_ID)])]
    return argv + ["-device", opts("AC97", [("audiodev", AUDIODEV_ID)])]


def wav_path(p: Profile) -> str | None:
    """Where ``audio_backend = "wav"`` records: NAME.wav in the profile's folder, beside its disks (QEMU's
    default, qemu.wav in its working folder, would be wherever `vmrun up` ran)."""
    if p.audio_backend is not AudioBackend.WAV:
        return None
    return os.path.join(os.path.dirname(os.path.abspath(p.source)), f"{p.name}.wav")


def tablet_args(p: Profile) -> list[str]:
    return ["-usb", "-device", opts("usb-tablet", [("bus", MACHINE_USB_BUS)])] if p.tablet else []


def rtc_args(p: Profile) -> list[str]:
    return ["-rtc", "base=localtime"] if p.rtc is Rtc.LOCALTIME else []


def everyday_args(p: Profile) -> list[str]:
    return audio_args(p) + tablet_args(p) + rtc_args(p)
