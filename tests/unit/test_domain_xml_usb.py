"""[[usb]] and [[pci]] in the domain XML: <hostdev>s on vmrun's xhci, validated; a USB device by host port
is not supported on libvirt; vmrun's metadata keeps the USB ids."""

from __future__ import annotations

import pytest

from tests.unit.test_domain_xml import build, compact, tree, validate
from vmrun.engines.libvirt.xml import read_metadata
from vmrun.errors import NotSupported, ProfileError

USB = '[[usb]]\nvendor = "046d"\nproduct = "c52b"\nid = "receiver"\n'
PCI = '[[pci]]\nhost = "0000:01:00.1"\n'


@pytest.mark.parametrize(("machine", "index"), [("pc", 0), ("q35", 0), ("pc,usb=on", 1), ("q35,usb=on", 1)])
def test_usb_and_pci_hostdevs_are_valid(write_profile, tmp_path, machine, index):
    built = build(write_profile, f'machine = "{machine}"\n{USB}{PCI}')
    assert built.warnings == ()
    root = tree(built)
    assert [compact(c) for c in root.findall("devices/controller[@type='usb']")] == [
        f'<controller type="usb" index="{index}" model="qemu-xhci"/>'
    ]  # with usb=on, the machine's own controller is libvirt's default, index 0
    assert [compact(h) for h in root.findall("devices/hostdev")] == [
        '<hostdev mode="subsystem" type="usb" managed="yes"><source><vendor id="0x046d"/><product id="0xc52b"/>'
        f'</source><alias name="ua-receiver"/><address type="usb" bus="{index}"/></hostdev>',
        '<hostdev mode="subsystem" type="pci" managed="yes"><source>'
        '<address domain="0x0000" bus="0x01" slot="0x00" function="0x1"/></source></hostdev>',
    ]
    assert read_metadata(built.xml)["usb"] == [{"id": "receiver", "vendor": "046d", "product": "c52b"}]
    validate(built.xml, tmp_path)


def test_no_usb_keeps_usb_off(write_profile):
    root = tree(build(write_profile, 'machine = "q35"\n'))
    assert [compact(c) for c in root.findall("devices/controller[@type='usb']")] == [
        '<controller type="usb" model="none"/>'
    ]
    assert root.find("devices/hostdev") is None


def test_usb_by_host_port_is_not_supported_on_libvirt(write_profile):
    with pytest.raises(NotSupported) as e:
        build(write_profile, '[[usb]]\nhost = "1-2"\n')
    assert str(e.value) == "t: a USB device by host port (usb[0].host) is not supported on the libvirt engine"
    assert "vendor and product" in (e.value.hint or "")


def test_usb_id_libvirt_cannot_alias(write_profile):
    with pytest.raises(ProfileError, match=r"usb\[0\]\.id: 'a\.b': libvirt aliases take letters"):
        build(write_profile, '[[usb]]\nvendor = "046d"\nproduct = "c52b"\nid = "a.b"\n')
