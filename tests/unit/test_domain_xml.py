"""The domain XML builder: a golden file per shipped profile, libvirt's own schema, and the mapping rule by rule.

Regenerate the golden files after an intended change with ``VMRUN_REGEN=1`` and read the diff.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import DATA, REPO
from vmrun.cli import app
from vmrun.engines.libvirt.xml import (
    CARRIED,
    DEFAULT_LIBVIRT,
    PASST_SINCE,
    DomainXml,
    domain_xml,
    interface_xml,
    read_metadata,
)
from vmrun.errors import ProfileError
from vmrun.profile import load_profile
from vmrun.profile.model import Accel

GOLDEN = DATA / "libvirt"
PROFILES = sorted((REPO / "profiles").glob("*.toml"))
EMULATOR = "/usr/bin/qemu-system-x86_64"
# demo's kernel is under ~ and every profile's path is in the metadata: neither may depend on who runs the tests.
HOME = "/home/vmrun"
REPO_MARK = "@REPO@"
VALIDATE = "/usr/bin/virt-xml-validate"
VALIDATE_HINT = "apt-get install libvirt-clients libxml2-utils (scripts/setup.sh installs both)"
Q = "{http://libvirt.org/schemas/domain/qemu/1.0}"
V = "{https://vmrun.invalid/xmlns/domain/1}"


def shipped(path: Path, monkeypatch: pytest.MonkeyPatch) -> DomainXml:
    monkeypatch.setenv("HOME", HOME)
    built = domain_xml(load_profile(str(path)), accel=Accel.TCG, emulator=EMULATOR)
    return DomainXml(built.xml.replace(str(REPO), REPO_MARK), built.warnings)


def build(write_profile, text: str, *, version: int = DEFAULT_LIBVIRT, accel: Accel = Accel.TCG) -> DomainXml:
    profile = load_profile(str(write_profile('name = "t"\naccel = "tcg"\n' + text)))
    return domain_xml(profile, accel=accel, emulator=EMULATOR, libvirt_version=version)


def refusal(write_profile, text: str, **kw) -> ProfileError:
    with pytest.raises(ProfileError) as e:
        build(write_profile, text, **kw)
    assert "\n" not in str(e.value)
    return e.value


def tree(built: DomainXml) -> ET.Element:
    return ET.fromstring(built.xml)


def compact(el: ET.Element) -> str:
    """One element as one line, without the indentation, for exact comparisons."""
    el = copy.deepcopy(el)
    for e in el.iter():
        e.tail = None
        if e.text is not None and not e.text.strip():
            e.text = None
    return ET.tostring(el, encoding="unicode").replace(" />", "/>")


def interfaces(built: DomainXml) -> list[str]:
    return [compact(i) for i in tree(built).findall("devices/interface")]


def qemu_args(built: DomainXml) -> list[str]:
    return [a.get("value") for a in tree(built).findall(f"{Q}commandline/{Q}arg")]


def validate(text: str, tmp_path: Path, name: str = "domain.xml") -> None:
    if not os.access(VALIDATE, os.X_OK) or shutil.which("xmllint") is None:
        pytest.fail(f"virt-xml-validate or xmllint is missing: {VALIDATE_HINT}")
    path = tmp_path / name
    path.write_text(text)
    r = subprocess.run([VALIDATE, str(path), "domain"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


# -- golden files, one per shipped profile --------------------------------------------------------


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_shipped_profile_matches_its_golden_file(path, monkeypatch):
    golden = GOLDEN / f"{path.stem}.xml"
    built = shipped(path, monkeypatch)
    if os.environ.get("VMRUN_REGEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(built.xml)
    assert golden.exists(), f"{golden} is missing: run the test once with VMRUN_REGEN=1 and review it"
    assert built.xml == golden.read_text()


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_golden_file_is_valid_domain_xml(path, tmp_path):
    validate((GOLDEN / f"{path.stem}.xml").read_text(), tmp_path)


def test_every_shipped_profile_has_a_golden_file_and_no_other():
    assert sorted(p.stem for p in GOLDEN.glob("*.xml")) == sorted(p.stem for p in PROFILES)


def test_output_is_deterministic(monkeypatch):
    path = REPO / "profiles" / "jrgtest.toml"
    assert shipped(path, monkeypatch) == shipped(path, monkeypatch)


def test_jrgtest_says_what_does_not_carry(monkeypatch):
    assert shipped(REPO / "profiles" / "jrgtest.toml", monkeypatch).warnings == (
        'process = "testjrg" is not carried: libvirt names the process itself',
        'nics[1].via = "helper" is not carried: libvirt makes the tap itself',
        "nics[1].helper is not carried: libvirt makes the tap itself",
    )


def test_host_networks_are_not_in_the_domain(monkeypatch):
    built = shipped(REPO / "profiles" / "jrgtest-nat.toml", monkeypatch)
    assert "jrgbr0" not in built.xml and "192.168.128" not in built.xml
    assert interfaces(built)[0].startswith(
        '<interface type="network"><mac address="00:16:3e:0c:12:27"/><source network="jrgnet"/>'
    )


def test_a_kitchen_sink_profile_is_valid_too(write_profile, tmp_path):
    built = build(write_profile, KITCHEN_SINK)
    validate(built.xml, tmp_path)
    validate(build(write_profile, KITCHEN_SINK, version=PASST_SINCE).xml, tmp_path, "passt.xml")


KITCHEN_SINK = """
machine = "q35,vmport=off,smm=on,dump-guest-core=off,mem-merge=off"
cpu = "Skylake-Client,+vmx,-svm"
vga = "qxl"
display = "vnc"
cdrom = "/srv/install.iso"
kernel = "/srv/vmlinuz"
extra_args = ["-no-reboot", "-S"]
[spice]
port = 5901
password = "secret"
vdagent = true
[[drives]]
file = "/srv/a.qcow2"
aio = "io_uring"
cache = "none"
[[drives]]
file = "/dev/vg0/disk"
interface = "ide"
format = "raw"
readonly = true
[[drives]]
file = "/srv/c.img"
interface = "scsi"
format = "raw"
snapshot = true
[[nics]]
id = "u1"
hostfwd = ["tcp::2222-:22", "udp:0.0.0.0:5353-:53"]
[[nics]]
id = "u2"
net = "10.0.3.0/24"
[[nics]]
id = "br"
type = "bridge"
bridge = "br0"
vhost = "off"
queues = 2
[[nics]]
id = "mv"
type = "macvtap"
parent = "eth1"
mode = "vepa"
[[nics]]
id = "ovs"
type = "ovs"
bridge = "ovsbr0"
vlan = 12
[[nics]]
id = "nat"
type = "network"
network = "default"
model = "e1000e"
"""


# -- the domain, the machine and the CPU ----------------------------------------------------------


def test_accel_gives_the_domain_type(write_profile):
    assert tree(build(write_profile, "")).get("type") == "qemu"
    assert tree(build(write_profile, "", accel=Accel.KVM)).get("type") == "kvm"
    with pytest.raises(ValueError):
        build(write_profile, "", accel=Accel.AUTO)


def test_basics(write_profile):
    root = tree(
        build(write_profile, 'memory = "2G"\nsmp = 3\nkernel = "/k"\ninitrd = "/i"\nappend = "console=ttyS0"\n')
    )
    assert [compact(root.find(x)) for x in ("name", "memory", "vcpu", "os")] == [
        "<name>t</name>",
        '<memory unit="MiB">2048</memory>',
        "<vcpu>3</vcpu>",
        '<os><type arch="x86_64">hvm</type><kernel>/k</kernel><initrd>/i</initrd><cmdline>console=ttyS0</cmdline></os>',
    ]
    assert compact(root.find("features")) == "<features><acpi/><apic/></features>"
    assert [(e.tag, e.text) for e in root if e.tag.startswith("on_")] == [
        ("on_poweroff", "destroy"),
        ("on_reboot", "restart"),
        ("on_crash", "destroy"),
    ]
    devices = root.find("devices")
    assert devices.findtext("emulator") == EMULATOR
    assert compact(devices.find("serial")) == '<serial type="pty"><target port="0"/></serial>'
    assert compact(devices.find("console")) == '<console type="pty"><target type="serial" port="0"/></console>'
    assert devices.find("graphics") is None  # display = "none"
    assert compact(devices.find("video")) == '<video><model type="vga"/></video>'  # QEMU's default card


def test_boot_order_is_qemus_disk_then_cdrom_without_a_kernel(write_profile):
    root = tree(build(write_profile, 'cdrom = "/x.iso"\n[[drives]]\nfile = "/a.qcow2"\n'))
    assert [b.get("dev") for b in root.findall("os/boot")] == ["hd", "cdrom"]


def test_q35_gets_spare_root_ports_beyond_what_libvirt_fills(write_profile):
    root = tree(
        build(
            write_profile,
            'machine = "q35"\nhotplug_slots = 3\n[[drives]]\nfile = "/a.qcow2"\n'
            '[[nics]]\ntype = "bridge"\nbridge = "br0"\n[[nics]]\nid = "e"\ntype = "bridge"\nbridge = "br0"\n'
            'model = "e1000"\n[[nics]]\nid = "u"\nhostfwd = ["tcp::2222-:22"]\n',
        )
    )
    assert root.find("os/type").get("machine") == "q35"
    ports = [c for c in root.findall("devices/controller") if c.get("model") == "pcie-root-port"]
    # 3 spare + the virtio disk + the virtio NIC; e1000 sits behind libvirt's own bridge, the user NIC on pcie.0
    assert [p.get("index") for p in ports] == ["1", "2", "3", "4", "5"]


def test_pc_gets_no_root_ports(write_profile):
    root = tree(build(write_profile, 'machine = "pc"\nhotplug_slots = 3\nagent = false\n'))
    assert [c.get("model") for c in root.findall("devices/controller")] == ["none"]  # only "no USB", as QEMU's pc


def test_machine_options_that_map(write_profile):
    root = tree(build(write_profile, 'machine = "q35,usb=on,vmport=off,smm=on,dump-guest-core=off,mem-merge=off"\n'))
    assert root.find("os/type").get("machine") == "q35"
    assert compact(root.find("features")) == '<features><acpi/><apic/><vmport state="off"/><smm state="on"/></features>'
    assert root.find("memory").get("dumpCore") == "off"
    assert compact(root.find("memoryBacking")) == "<memoryBacking><nosharepages/></memoryBacking>"
    assert not [c for c in root.findall("devices/controller") if c.get("type") == "usb"]  # usb=on: libvirt's default


def test_machine_options_that_do_not_map_are_refused(write_profile):
    e = refusal(write_profile, 'machine = "pc,kernel_irqchip=split"\n')
    assert (e.field, e.reason) == (
        "machine",
        "'kernel_irqchip=split' has no libvirt equivalent (usb, vmport, smm, dump-guest-core and mem-merge do)",
    )
    e = refusal(write_profile, 'machine = "q35,accel=kvm"\n')
    assert e.field == "machine" and e.hint == 'write accel = "kvm" and machine = "q35"'


@pytest.mark.parametrize(
    ("cpu", "expected"),
    [
        (
            "kvm64,+vmx,-svm",
            '<cpu mode="custom" match="exact"><model fallback="allow">kvm64</model>'
            '<feature policy="require" name="vmx"/><feature policy="disable" name="svm"/></cpu>',
        ),
        (
            "kvm64,vmx",
            '<cpu mode="custom" match="exact"><model fallback="allow">kvm64</model>'
            '<feature policy="require" name="vmx"/></cpu>',
        ),
        ("max", '<cpu mode="maximum"/>'),
        ("max,-la57", '<cpu mode="maximum"><feature policy="disable" name="la57"/></cpu>'),
    ],
)
def test_cpu_forms(write_profile, cpu, expected):
    assert compact(tree(build(write_profile, f'cpu = "{cpu}"\n')).find("cpu")) == expected


def test_cpu_host_is_passthrough_under_kvm_and_refused_under_tcg(write_profile):
    built = build(write_profile, 'cpu = "host,+vmx"\n', accel=Accel.KVM)
    assert (
        compact(tree(built).find("cpu")) == '<cpu mode="host-passthrough"><feature policy="require" name="vmx"/></cpu>'
    )
    e = refusal(write_profile, 'cpu = "host"\n')
    assert e.field == "cpu" and e.hint == 'use cpu = "max"'


def test_cpu_key_value_settings_are_refused(write_profile):
    e = refusal(write_profile, 'cpu = "kvm64,+vmx,level=13"\n')
    assert e.field == "cpu"
    assert str(e).endswith("cpu: 'level=13': libvirt sets CPU features on or off, not to values")
    assert e.hint == "write +FEATURE or -FEATURE, or pass -cpu in extra_args"


# -- disks ----------------------------------------------------------------------------------------


def disks(built: DomainXml) -> list[str]:
    return [compact(d) for d in tree(built).findall("devices/disk")]


def test_drives_get_libvirts_targets_per_bus(write_profile):
    text = (
        '[[drives]]\nfile = "/a.qcow2"\naio = "threads"\ncache = "writeback"\n'
        '[[drives]]\nfile = "/b.raw"\nformat = "raw"\ninterface = "ide"\nreadonly = true\n'
        '[[drives]]\nfile = "/dev/sdz"\nformat = "raw"\ninterface = "scsi"\nsnapshot = true\n'
        '[[drives]]\nfile = "/d.qcow2"\n'
    )
    assert disks(build(write_profile, 'cdrom = "/x.iso"\n' + text)) == [
        '<disk type="file" device="disk"><driver name="qemu" type="qcow2" io="threads" cache="writeback"/>'
        '<source file="/a.qcow2"/><target dev="vda" bus="virtio"/></disk>',
        '<disk type="file" device="disk"><driver name="qemu" type="raw"/><source file="/b.raw"/>'
        '<target dev="hda" bus="ide"/><readonly/></disk>',
        '<disk type="block" device="disk"><driver name="qemu" type="raw"/><source dev="/dev/sdz"/>'
        '<target dev="sda" bus="scsi"/><transient/></disk>',
        '<disk type="file" device="disk"><driver name="qemu" type="qcow2"/><source file="/d.qcow2"/>'
        '<target dev="vdb" bus="virtio"/></disk>',
        '<disk type="file" device="cdrom"><driver name="qemu" type="raw"/><source file="/x.iso"/>'
        '<target dev="hdc" bus="ide"/><readonly/></disk>',
    ]


def test_ide_and_cdrom_are_sata_on_q35(write_profile):
    got = disks(
        build(
            write_profile,
            'machine = "q35"\ncdrom = "/x.iso"\n[[drives]]\nfile = "/a.raw"\nformat = "raw"\ninterface = "ide"\n',
        )
    )
    assert [d.split("<target ")[1].split("/>")[0] for d in got] == ['dev="sda" bus="sata"', 'dev="sdc" bus="sata"']


def test_drive_without_format_warns_unless_qcow2(write_profile):
    built = build(write_profile, '[[drives]]\nfile = "/a.img"\n[[drives]]\nfile = "/b.qcow2"\n')
    assert built.warnings == ("drives[0].format is unset: libvirt does not probe images and reads it as raw",)
    assert '<driver name="qemu"/>' in disks(built)[0]


@pytest.mark.parametrize(
    ("key", "value"), [("aio", "posix"), ("cache", "fast"), ("format", "vhdx"), ("interface", "pflash")]
)
def test_drive_values_libvirt_lacks_are_refused(write_profile, key, value):
    e = refusal(write_profile, f'[[drives]]\nfile = "/a.raw"\n{key} = "{value}"\n')
    assert e.field == f"drives[0].{key}"


# -- NICs -----------------------------------------------------------------------------------------

MAC = "52:54:00:aa:bb:cc"


def nic(write_profile, text: str, **kw) -> DomainXml:
    return build(write_profile, f'[[nics]]\nid = "n0"\nmac = "{MAC}"\n{text}\n', **kw)


def test_user_nic_without_forwards(write_profile):
    built = nic(write_profile, "")
    assert interfaces(built) == [
        f'<interface type="user"><mac address="{MAC}"/><model type="virtio"/><alias name="ua-n0"/></interface>'
    ]
    assert qemu_args(built) == [] and built.warnings == () and "xmlns:qemu" not in built.xml


def test_user_nic_with_net(write_profile):
    assert interfaces(nic(write_profile, 'net = "10.0.3.0/24"\nmodel = "e1000"')) == [
        f'<interface type="user"><mac address="{MAC}"/><ip family="ipv4" address="10.0.3.0" prefix="24"/>'
        '<model type="e1000"/><alias name="ua-n0"/></interface>'
    ]


def test_user_nic_with_forwards_is_carried_in_qemu_commandline_on_libvirt_9_0(write_profile):
    built = build(
        write_profile,
        f'[[nics]]\nid = "n0"\nmac = "{MAC}"\nhostfwd = ["tcp::8080-:80", "udp:0.0.0.0:53-:53"]\n'
        '[[nics]]\nid = "n1"\nmodel = "e1000"\nrestrict = true\n',
    )
    assert interfaces(built) == []
    assert built.warnings == ()  # the design, not a compromise to warn about
    root = tree(built)
    assert root.get("type") == "qemu" and built.xml.startswith(
        '<domain type="qemu" xmlns:qemu="http://libvirt.org/schemas/domain/qemu/1.0">'
    )
    n1_mac = load_profile(str(write_profile('name = "t"\n[[nics]]\nid = "n0"\n[[nics]]\nid = "n1"\n'))).nics[1].mac
    assert qemu_args(built) == [
        "-netdev",
        "user,id=n0,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=udp:0.0.0.0:53-:53",
        "-device",
        f"virtio-net-pci,netdev=n0,mac={MAC},id=n0,bus=pci.0,addr=0x1f",
        "-netdev",
        "user,id=n1,restrict=on",
        "-device",
        f"e1000,netdev=n1,mac={n1_mac},id=n1,bus=pci.0,addr=0x1e",
    ]
    meta = read_metadata(built.xml)
    assert [(n["id"], n.get("carried")) for n in meta["nics"]] == [("n0", CARRIED), ("n1", CARRIED)]
    assert meta["forwards"] == [
        {"nic": "n0", "rule": "tcp:127.0.0.1:8080-:80"},
        {"nic": "n0", "rule": "udp:0.0.0.0:53-:53"},
    ]


def test_carried_user_nic_sits_on_pcie_0_on_q35(write_profile):
    args = qemu_args(
        build(
            write_profile,
            'machine = "q35"\n[[nics]]\nid = "n0"\nhostfwd = ["tcp::8080-:80"]\n'
            '[[nics]]\nid = "n1"\nhostfwd = ["tcp::8081-:80"]\n',
        )
    )
    assert [a.split(",bus=")[1] for a in args if "bus=" in a] == ["pcie.0,addr=0x1c", "pcie.0,addr=0x1b"]


def test_user_nic_with_forwards_uses_passt_from_libvirt_9_2(write_profile):
    built = nic(write_profile, 'hostfwd = ["tcp::8080-:80", "udp:0.0.0.0:5353-10.0.2.15:53"]', version=PASST_SINCE)
    assert interfaces(built) == [
        f'<interface type="user"><mac address="{MAC}"/><model type="virtio"/><backend type="passt"/>'
        '<portForward proto="tcp" address="127.0.0.1"><range start="8080" to="80"/></portForward>'
        '<portForward proto="udp" address="0.0.0.0"><range start="5353" to="53"/></portForward>'
        '<alias name="ua-n0"/></interface>'
    ]
    assert qemu_args(built) == []
    assert built.warnings == (
        "nics[0].hostfwd[1]: the guest address 10.0.2.15 is not carried: passt forwards to the guest's own address",
    )
    assert "carried" not in read_metadata(built.xml)["nics"][0]


def test_passt_nic_needs_libvirt_9_2(write_profile):
    e = refusal(write_profile, '[[nics]]\nid = "n0"\ntype = "passt"\nhostfwd = ["tcp::8080-:80"]\n')
    assert e.field == "nics[0].type"
    assert e.reason == "passt needs libvirt 9.2 or later (the target has 9.0)"
    assert e.hint == 'use type = "user", whose forwards vmrun carries for libvirt 9.0'
    built = nic(write_profile, 'type = "passt"\nhostfwd = ["tcp::8080-:80"]', version=9_003_000)
    assert interfaces(built) == [
        f'<interface type="user"><mac address="{MAC}"/><model type="virtio"/><backend type="passt"/>'
        '<portForward proto="tcp" address="127.0.0.1"><range start="8080" to="80"/></portForward>'
        '<alias name="ua-n0"/></interface>'
    ]


def test_bridge_nic(write_profile):
    built = nic(write_profile, 'type = "bridge"\nbridge = "br0"\nvhost = "on"\nqueues = 4\nmodel = "e1000"')
    assert interfaces(built) == [
        f'<interface type="bridge"><mac address="{MAC}"/><source bridge="br0"/><model type="e1000"/>'
        '<driver name="vhost" queues="4"/><alias name="ua-n0"/></interface>'
    ]
    assert built.warnings == ()
    assert (
        '<driver name="qemu"/>' in interfaces(nic(write_profile, 'type = "bridge"\nbridge = "br0"\nvhost = "off"'))[0]
    )
    assert "<driver" not in interfaces(nic(write_profile, 'type = "bridge"\nbridge = "br0"'))[0]


def test_bridge_via_and_helper_do_not_apply(write_profile):
    built = nic(write_profile, 'type = "bridge"\nbridge = "br0"\nvia = "tap"\nhelper = "/h"')
    assert built.warnings == (
        'nics[0].via = "tap" is not carried: libvirt makes the tap itself',
        "nics[0].helper is not carried: libvirt makes the tap itself",
    )


def test_macvtap_nic(write_profile):
    assert interfaces(nic(write_profile, 'type = "macvtap"\nparent = "eth1"\nmode = "passthru"\nvhost = "off"')) == [
        f'<interface type="direct"><mac address="{MAC}"/><source dev="eth1" mode="passthru"/>'
        '<model type="virtio"/><driver name="qemu"/><alias name="ua-n0"/></interface>'
    ]


def test_ovs_nic(write_profile):
    assert interfaces(nic(write_profile, 'type = "ovs"\nbridge = "ovsbr0"\nvlan = 42\nmodel = "rtl8139"')) == [
        f'<interface type="bridge"><mac address="{MAC}"/><source bridge="ovsbr0"/><vlan><tag id="42"/></vlan>'
        '<virtualport type="openvswitch"/><model type="rtl8139"/><alias name="ua-n0"/></interface>'
    ]


def test_network_nic(write_profile):
    built = nic(write_profile, 'type = "network"\nnetwork = "jrgnet"\nuri = "qemu+ssh://lab/system"\nvia = "helper"')
    assert interfaces(built) == [
        f'<interface type="network"><mac address="{MAC}"/><source network="jrgnet"/>'
        '<model type="virtio"/><alias name="ua-n0"/></interface>'
    ]
    assert built.warnings == (
        'nics[0].via = "helper" is not carried: libvirt makes the tap itself',
        "nics[0].uri is not carried: the domain joins network 'jrgnet' of the libvirt that runs it",
    )


def test_nic_ids_must_make_libvirt_aliases(write_profile):
    e = refusal(write_profile, '[[nics]]\nid = "a.b"\n')
    assert e.field == "nics[0].id"


def test_interface_xml_for_hotplug_is_plain_slirp_below_9_2(write_profile):
    """Forwards are added live (hostfwd_add on hostua-ID); restrict has no libvirt form."""
    profile = load_profile(
        str(
            write_profile(f'name = "t"\n[[nics]]\nid = "n0"\nmac = "{MAC}"\nhostfwd = ["tcp::1-:2"]\nrestrict = true\n')
        )
    )
    built = interface_xml(profile, profile.nics[0])
    assert compact(ET.fromstring(built.xml)) == (
        f'<interface type="user"><mac address="{MAC}"/><model type="virtio"/><alias name="ua-n0"/></interface>'
    )
    assert built.warnings == ("nics[0].restrict is not carried: libvirt's user NIC has no restrict",)


def test_interface_xml_for_hotplug_uses_passt_from_9_2(write_profile):
    profile = load_profile(
        str(write_profile(f'name = "t"\n[[nics]]\nid = "n0"\nmac = "{MAC}"\nhostfwd = ["tcp::1-:2"]\n'))
    )
    built = interface_xml(profile, profile.nics[0], libvirt_version=PASST_SINCE)
    assert '<backend type="passt"/><portForward proto="tcp" address="127.0.0.1"><range start="1" to="2"/>' in (
        compact(ET.fromstring(built.xml))
    )


# -- display, SPICE, extra arguments, process names -----------------------------------------------


def test_spice_with_password_and_agent(write_profile):
    built = build(write_profile, '[spice]\nport = 5900\naddr = "0.0.0.0"\npassword = "pw"\nvdagent = true\n')
    devices = tree(built).find("devices")
    assert compact(devices.find("graphics")) == (
        '<graphics type="spice" port="5900" autoport="no" passwd="pw">'
        '<listen type="address" address="0.0.0.0"/></graphics>'
    )
    assert compact(devices.find("channel")) == (
        '<channel type="spicevmc"><target type="virtio" name="com.redhat.spice.0"/></channel>'
    )
    assert built.warnings == ("spice.password is in the domain XML: libvirt clients with full access can read it",)


def test_spice_without_ticketing_has_no_password(write_profile):
    built = build(write_profile, '[spice]\nport = 5900\nticketing = false\npassword = "unused"\n')
    assert "passwd" not in built.xml and built.warnings == ()
    assert tree(built).find("devices/channel[@type='spicevmc']") is None
    built = build(write_profile, "[spice]\nport = 5900\n")
    assert built.warnings == (
        "spice.ticketing without spice.password: libvirt turns ticketing off "
        "(unless its qemu.conf sets spice_password)",
    )


def test_display_forms(write_profile):
    vnc = tree(build(write_profile, 'display = "vnc"\n')).find("devices/graphics")
    assert (
        compact(vnc)
        == '<graphics type="vnc" port="-1" autoport="yes"><listen type="address" address="127.0.0.1"/></graphics>'
    )
    built = build(write_profile, 'display = "gtk,gl=on"\n')
    assert tree(built).find("devices/graphics") is None
    assert built.warnings == (
        'display = "gtk,gl=on" is not carried: a libvirt domain has no local window (libvirt chooses its own display)',
    )
    assert build(write_profile, 'display = "default"\n[spice]\nport = 5900\nticketing = false\n').warnings == ()


@pytest.mark.parametrize(
    ("vga", "model"), [("std", "vga"), ("virtio", "virtio"), ("vmware", "vmvga"), ("none", "none")]
)
def test_vga_models(write_profile, vga, model):
    assert tree(build(write_profile, f'vga = "{vga}"\n')).find("devices/video/model").get("type") == model


def test_unknown_vga_is_refused(write_profile):
    assert refusal(write_profile, 'vga = "tcx"\n').field == "vga"


def test_no_reboot_maps_and_other_extra_args_are_carried_with_one_warning(write_profile):
    built = build(write_profile, 'extra_args = ["-no-reboot"]\n')
    assert tree(built).findtext("on_reboot") == "destroy" and built.warnings == () and "qemu:" not in built.xml
    built = build(write_profile, 'extra_args = ["-no-reboot", "-global", "kvm-pit.lost_tick_policy=delay", "-S"]\n')
    assert tree(built).findtext("on_reboot") == "destroy"
    assert qemu_args(built) == ["-global", "kvm-pit.lost_tick_policy=delay", "-S"]
    assert built.warnings == (
        "extra_args are passed in <qemu:commandline>: libvirt marks the domain tainted (custom-argv)",
    )


def test_process_name_warns_and_debug_threads_is_what_libvirt_always_does(write_profile):
    assert build(write_profile, 'process = "p"\n').warnings == (
        'process = "p" is not carried: libvirt names the process itself',
    )
    # libvirt always starts QEMU with -name guest=NAME,debug-threads=on (the root test checks it)
    assert build(write_profile, "debug_threads = true\n").warnings == ()


# -- metadata -------------------------------------------------------------------------------------


def test_metadata_round_trip(monkeypatch):
    built = shipped(REPO / "profiles" / "jrgtest.toml", monkeypatch)
    assert read_metadata(built.xml) == {
        "profile": f"{REPO_MARK}/profiles/jrgtest.toml",
        "nics": [
            {"id": "net0", "type": "user", "model": "e1000", "mac": "00:16:3e:0c:21:28", "carried": CARRIED},
            {"id": "nic0", "type": "bridge", "model": "e1000", "mac": "00:16:3e:0c:12:27"},
        ],
        "forwards": [{"nic": "net0", "rule": "tcp:127.0.0.1:19888-:22"}],
        "usb": [],
    }


def test_metadata_is_found_by_namespace_as_libvirt_gives_it_back(monkeypatch):
    """libvirt re-serialises the XML (single quotes, its own layout); the prefix is not what we look for."""
    xml = shipped(REPO / "profiles" / "demo.toml", monkeypatch).xml
    redone = xml.replace("vmrun:", "v:").replace("xmlns:vmrun", "xmlns:v").replace('"', "'")
    assert read_metadata(redone) == read_metadata(xml)
    assert read_metadata(xml)["profile"] == f"{REPO_MARK}/profiles/demo.toml"


def test_metadata_is_none_for_other_domains():
    assert read_metadata("<domain type='kvm'><name>x</name></domain>") is None
    assert read_metadata("<domain type='kvm'><metadata><app:x xmlns:app='urn:other'/></metadata></domain>") is None
    assert read_metadata("not xml") is None


def test_relative_profile_path_becomes_absolute(write_profile, monkeypatch):
    path = write_profile('name = "t"\n')
    monkeypatch.chdir(path.parent)
    built = domain_xml(load_profile(path.name), accel=Accel.TCG, emulator=EMULATOR)
    assert read_metadata(built.xml)["profile"] == str(path)


# -- purity and the command line ------------------------------------------------------------------


def test_builder_does_no_io(write_profile, monkeypatch):
    profile = load_profile(str(write_profile('name = "t"\n' + KITCHEN_SINK)))

    def forbidden(*_a, **_k):
        raise AssertionError("domain_xml did I/O")

    for name in ("open", "stat", "lstat", "getuid", "geteuid", "listdir", "scandir", "access"):
        monkeypatch.setattr(os, name, forbidden)
    monkeypatch.setattr("builtins.open", forbidden)
    assert domain_xml(profile, accel=Accel.TCG, emulator=EMULATOR).xml


def test_the_builder_imports_no_libvirt():
    code = "import sys, vmrun.engines.libvirt.xml; assert 'libvirt' not in sys.modules, 'libvirt imported'"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_show_libvirt_prints_the_xml_and_warns_on_stderr(monkeypatch):
    monkeypatch.setenv("HOME", HOME)
    result = CliRunner().invoke(app, ["show", str(REPO / "profiles" / "jrgtest.toml"), "--libvirt"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith('<domain type="kvm" ') and result.stdout.endswith("</domain>\n")
    # jrgtest's QEMU is not on this machine: its path stays as written
    assert "<emulator>/home/rg/project/qemu-5.1.0/build/x86_64-softmmu/qemu-system-x86_64</emulator>" in result.stdout
    assert result.stderr.splitlines() == [
        'vmrun: process = "testjrg" is not carried: libvirt names the process itself',
        'vmrun: nics[1].via = "helper" is not carried: libvirt makes the tap itself',
        "vmrun: nics[1].helper is not carried: libvirt makes the tap itself",
    ]


def test_show_libvirt_json_and_refusals(write_profile):
    import json

    path = write_profile('name = "t"\naccel = "tcg"\nqemu = "sh"\nprocess = "p"\n')
    result = CliRunner().invoke(app, ["show", str(path), "--libvirt", "--json"])
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert f"<emulator>{shutil.which('sh')}</emulator>" in shown["xml"]
    assert shown["warnings"] == ['process = "p" is not carried: libvirt names the process itself']
    bad = write_profile('name = "t"\naccel = "tcg"\ncpu = "qemu64,level=13"\n', "bad")
    result = CliRunner().invoke(app, ["show", str(bad), "--libvirt"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"vmrun: error: {bad}: cpu: 'level=13': libvirt sets CPU features on or off")


# -- the NIC types an import brings: tap, netdev, pinned slots ---------------------------------------


def test_an_existing_tap_is_an_unmanaged_ethernet_interface_at_its_pinned_slot(write_profile, tmp_path):
    text = (
        '[[nics]]\nid = "n0"\ntype = "tap"\nifname = "tap7"\nmac = "52:54:00:00:00:07"\nmodel = "e1000"\n'
        'addr = "0x6"\n[[drives]]\nfile = "/a.qcow2"\naddr = "0x9"\n'
    )
    built = build(write_profile, text)
    assert interfaces(built) == [
        '<interface type="ethernet"><mac address="52:54:00:00:00:07"/><target dev="tap7" managed="no"/>'
        '<model type="e1000"/><alias name="ua-n0"/>'
        '<address type="pci" domain="0x0000" bus="0x00" slot="0x06" function="0x0"/></interface>'
    ]
    assert '<address type="pci" domain="0x0000" bus="0x00" slot="0x09" function="0x0"/>' in compact(
        tree(built).find("devices/disk")
    )
    validate(built.xml, tmp_path)


@pytest.mark.parametrize(
    ("nic", "field", "words"),
    [
        ('type = "tap"\nscript = "/etc/qemu-ifup"\n', "nics[0].script", "libvirt makes its taps itself"),
        ('type = "netdev"\nbackend = "socket"\noptions = "listen=:1234"\n', "nics[0].type", "a -netdev socket"),
    ],
)
def test_what_libvirt_cannot_carry_of_an_import_is_refused_in_one_line(write_profile, nic, field, words):
    e = refusal(write_profile, "[[nics]]\n" + nic)
    assert e.field == field and words in str(e)


def test_guest_agent_channel_on_a_pinned_controller_and_none_with_agent_false(write_profile):
    root = tree(build(write_profile, 'machine = "pc"\n[[nics]]\ntype = "user"\naddr = "0x1f"\n'))
    channel = root.find("devices/channel[@type='unix']")
    assert channel.find("target").get("name") == "org.qemu.guest_agent.0"
    controller = root.find("devices/controller[@type='virtio-serial']")
    assert controller.find("address").get("slot") != "0x1f"  # the pinned NIC keeps its slot
    assert tree(build(write_profile, "agent = false\n")).find("devices/channel") is None
