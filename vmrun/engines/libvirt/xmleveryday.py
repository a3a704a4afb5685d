"""The domain XML of the everyday devices (a part of :class:`vmrun.engines.libvirt.xml._Build`): the sound
card and where its sound goes (<sound> and <audio>), the tablet (<input>), the guest's clock (<clock>),
the serial ports after the console (<serial>) and the gdb stub.

The argv parts are in devices/everyday.py and devices/serials.py. libvirt names QEMU's intel-hda
``ich6``; its <audio> types are QEMU's -audiodev drivers under other names (``pa`` is ``pulseaudio``,
``wav`` is ``file``). A unix serial socket needs its path here: libvirt's QEMU makes it on libvirt's
host, where vmrun has no run folder. libvirt 9.0 has no element for the gdb stub: it goes to
<qemu:commandline>, which libvirt marks tainted.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from vmrun.devices.everyday import wav_path
from vmrun.engines.libvirt.xmlbase import sub
from vmrun.errors import ProfileError
from vmrun.profile.model import Audio, AudioBackend, Rtc, SerialType

SOUND_MODEL = {Audio.HDA: "ich6", Audio.AC97: "ac97"}
AUDIO_TYPE = {AudioBackend.PA: "pulseaudio", AudioBackend.WAV: "file"}
AUDIO_ID = 1


class EverydayXml:
    p: Any
    qemu_args: list[str]
    warnings: list[str]

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
        kind = AUDIO_TYPE.get(p.audio_backend, p.audio_backend.value)
        sub(devices, "audio", id=AUDIO_ID, type=kind, path=wav_path(p))

    def serials(self, devices: ET.Element) -> None:
        """Each [[serials]] table, ports 1 to 3 after the console's 0: a server that does not wait, as on argv."""
        for i, s in enumerate(self.p.serials):
            kind = s.type.value if s.type is not SerialType.TELNET else "tcp"
            serial = sub(devices, "serial", type=kind)
            if s.type in (SerialType.TCP, SerialType.TELNET):
                sub(serial, "source", mode="bind", host=s.addr, service=s.port)
                sub(serial, "protocol", type="telnet" if s.type is SerialType.TELNET else "raw")
            elif s.type is SerialType.UNIX:
                if s.path is None:
                    raise ProfileError(
                        "under libvirt a unix serial socket needs its path (libvirt's QEMU makes it on libvirt's host)",
                        source=self.p.source,
                        field=f"serials[{i}].path",
                        hint='path = "/var/lib/libvirt/qemu/NAME-serial1.sock", or type = "pty"',
                    )
                sub(serial, "source", mode="bind", path=s.path)
            elif s.type is SerialType.FILE:
                sub(serial, "source", path=s.path)
            sub(serial, "target", port=i + 1)

    def gdb(self) -> None:
        if self.p.gdb:
            self.qemu_args += ["-gdb", f"tcp:{self.p.gdb}"]
            self.warnings.append("gdb is passed in <qemu:commandline>: libvirt marks the domain tainted (custom-argv)")
