"""audio, audio_backend, tablet and rtc: the keys and their refusals, the argv parts (pure) and the
domain XML (validated with libvirt's schema)."""

from __future__ import annotations

import pytest

from tests.unit.test_domain_xml import build, compact, tree, validate
from vmrun.argv import build_argv
from vmrun.errors import ProfileError
from vmrun.profile import load_profile
from vmrun.profile.model import Accel, Audio, AudioBackend, Rtc
from vmrun.show import option_lines

ALL = 'audio = "hda"\naudio_backend = "pa"\ntablet = true\nrtc = "localtime"\n'


def profile(write_profile, text: str, machine: str = "pc"):
    return load_profile(str(write_profile(f'name = "w"\naccel = "tcg"\nmachine = "{machine}"\n{text}', "w")))


def lines(p) -> list[list[str]]:
    return [list(line) for line in option_lines(build_argv(p, {}, qemu="qemu", accel=Accel.TCG))]


def test_defaults_add_nothing(write_profile):
    p = profile(write_profile, "")
    assert (p.audio, p.audio_backend, p.tablet, p.rtc) == (Audio.NONE, AudioBackend.NONE, False, Rtc.UTC)
    assert not [line for line in lines(p) if line[0] in ("-audiodev", "-usb", "-rtc")]


def test_argv_sound_tablet_clock(write_profile):
    got = lines(profile(write_profile, ALL))
    i = got.index(["-audiodev", "pa,id=snd0"])
    assert got[i : i + 6] == [
        ["-audiodev", "pa,id=snd0"],
        ["-device", "intel-hda"],
        ["-device", "hda-duplex,audiodev=snd0"],
        ["-usb"],
        ["-device", "usb-tablet,bus=usb-bus.0"],
        ["-rtc", "base=localtime"],
    ]


def test_argv_ac97_and_the_tablet_beside_vmruns_xhci(write_profile, tmp_path):
    usb = '[[usb]]\nvendor = "046d"\nproduct = "c52b"\n'
    got = lines(profile(write_profile, f'audio = "ac97"\ntablet = true\n{usb}', "q35"))
    assert ["-audiodev", "none,id=snd0"] in got and ["-device", "AC97,audiodev=snd0"] in got
    wav = lines(profile(write_profile, 'audio = "ac97"\naudio_backend = "wav"\n'))
    assert ["-audiodev", f"wav,id=snd0,path={tmp_path}/w.wav"] in wav
    devices = [line[1] for line in got if line[0] == "-device"]
    # Named, the machine's own USB: without bus= QEMU would put it on the xhci added last.
    assert devices.index("qemu-xhci,id=vmrun-xhci") < devices.index("usb-tablet,bus=usb-bus.0")
    assert ["-usb"] in got


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ('audio = "sb16"\n', "audio", "sb16"),
        ('audio_backend = "pa"\n', "audio_backend", "no sound card"),
        ('audio = "hda"\naudio_backend = "spice"\n', "audio_backend", "no [spice]"),
        ('audio = "hda"\naudio_backend = "pulse"\n', "audio_backend", "pulse"),
        ('tablet = "yes"\n', "tablet", "expected"),
        ('rtc = "local"\n', "rtc", "local"),
    ],
)
def test_bad_keys_are_one_line_naming_the_field(write_profile, text, field, message):
    with pytest.raises(ProfileError) as e:
        profile(write_profile, text)
    assert e.value.field == field and message in str(e.value) and "\n" not in str(e.value)


def test_tablet_refused_when_the_machine_has_its_usb_off(write_profile):
    with pytest.raises(ProfileError) as e:
        profile(write_profile, "tablet = true\n", "pc,usb=off")
    assert e.value.field == "tablet" and "usb=off" in str(e.value)


@pytest.mark.parametrize(("machine", "controller"), [("pc", "piix3-uhci"), ("q35", "ich9-ehci1"), ("pc,usb=on", None)])
def test_domain_xml_sound_tablet_clock(write_profile, tmp_path, machine, controller):
    built = build(write_profile, f'machine = "{machine}"\n{ALL}[[usb]]\nvendor = "046d"\nproduct = "c52b"\n')
    root = tree(built)
    assert compact(root.find("clock")) == '<clock offset="localtime"/>'
    assert [compact(c) for c in root.findall("devices/controller[@type='usb']")] == [
        *([f'<controller type="usb" index="0" model="{controller}"/>'] if controller else []),
        '<controller type="usb" index="1" model="qemu-xhci"/>',
    ]
    assert compact(root.find("devices/input")) == '<input type="tablet" bus="usb"><address type="usb" bus="0"/></input>'
    assert root.find("devices/hostdev/address").get("bus") == "1"
    assert compact(root.find("devices/sound")) == '<sound model="ich6"><codec type="duplex"/><audio id="1"/></sound>'
    assert compact(root.find("devices/audio")) == '<audio id="1" type="pulseaudio"/>'
    validate(built.xml, tmp_path)


def test_domain_xml_ac97_and_defaults(write_profile, tmp_path):
    root = tree(build(write_profile, 'audio = "ac97"\naudio_backend = "wav"\n'))
    assert compact(root.find("devices/sound")) == '<sound model="ac97"><audio id="1"/></sound>'
    assert compact(root.find("devices/audio")) == f'<audio id="1" type="file" path="{tmp_path}/t.wav"/>'
    plain = tree(build(write_profile, ""))
    assert plain.find("clock") is None and plain.find("devices/sound") is None and plain.find("devices/input") is None
    validate(build(write_profile, 'audio = "ac97"\naudio_backend = "wav"\n').xml, tmp_path)
