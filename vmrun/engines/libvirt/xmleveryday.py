"""The domain XML of the everyday devices (a part of :class:`vmrun.engines.libvirt.xml._Build`): the sound
card and where its sound goes (<sound> and <audio>), the tablet (<input>) and the guest's clock (<clock>).

The argv parts are in devices/everyday.py. libvirt names QEMU's intel-hda ``ich6``; its <audio> types
are QEMU's -audiodev drivers under other names (``pa`` is ``pulseaudio``, ``wav`` is ``file``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from vmrun.engines.libvirt.xmlbase import sub
from vmrun.profile.model import Audio, AudioBackend, Rtc

SOUND_MODEL = {Audio.HDA: "ich6", Audio.AC97: "ac97"}
AUDIO_TYPE = {AudioBackend.PA: "pulseaudio", AudioBackend.WAV: "file"}
AUDIO_ID = 1


class EverydayXml:
    p: Any

    def clock(self, root: ET.Element) -> None:
        if self.p.rtc is Rtc.LOCALTIME:
            sub(root, "clock", offset="localtime")  # absent, libvirt's clock is utc, as QEMU's

    def tablet(self, devices: ET.Element) -> None:
        if self.p.tablet:
            sub(sub(devices, "input", type="tablet", bus="usb"), "address", type="usb", bus=0)

    def sound(self, devices: ET.Element) -> None:
        p = self.p
        if p.audio is Audio.NONE:
            return
        sound = sub(devices, "sound", model=SOUND_MODEL[p.audio])
        if p.audio is Audio.HDA:
            sub(sound, "codec", type="duplex")
        sub(sound, "audio", id=AUDIO_ID)
        sub(devices, "audio", id=AUDIO_ID, type=AUDIO_TYPE.get(p.audio_backend, p.audio_backend.value))
