"""Every profile key, one record each: its name, how it is read, its default, its meaning and its flag.

The loader (load.py), `vmrun help profile` and the README's reference (reference.py),
the keys each NIC type and network kind takes, and `vmrun net create`'s option
names are all derived from these lists; the frozen dataclasses of model.py are
what the records fill (``field`` when the key's name is not the field's). A key
that means one thing per NIC type (``bridge``: Linux or OVS) has a record per meaning.

To add a key (say ``firmware = "uefi"``): give the dataclass its field, with the
same default; add a ``Key`` to its section below (a ``Choice`` over a new enum,
its default, its meaning); if it must agree with other keys, add to that section's
function in checks.py; regenerate the README (reference.py says how). The unit
tests fail on a field without a record, a record the loader does not read, a
default that differs from the dataclass's, and a README that is not current.
"""

from __future__ import annotations

from typing import Any

from vmrun.profile import cloud_init, fields
from vmrun.profile.devicekeys import DEVICE_KEYS, DEVICE_SECTIONS, DEVICE_TABLES
from vmrun.profile.keyrec import Key, Section, Shown
from vmrun.profile.model import (
    Accel,
    CloudInit,
    Drive,
    Engine,
    MacvtapMode,
    Media,
    NetKind,
    Network,
    Nic,
    NicType,
    Profile,
    Vhost,
    Via,
)
from vmrun.profile.read import (
    Choice,
    Context,
    Flag,
    MultiLine,
    Number,
    Path,
    Size,
    Strings,
    Table,
    Tables,
    Text,
)


def _same_name(ctx: Context, _: dict[str, Any]) -> str:
    return ctx.default_name


TOP = Section(
    "",
    Profile,
    (
        Key(
            "name",
            Text(fields.parse_name),
            "The VM's name (run folder, QEMU -name, `vmrun ps`).",
            default=Shown("the file's name", _same_name),
        ),
        Key("qemu", Text(), "The QEMU binary, a name on PATH or a path.", default="qemu-system-x86_64"),
        Key("process", Text(), "QEMU's process name (-name ...,process=)."),
        Key(
            "debug_threads", Flag(), "Name QEMU's threads after their role (-name ...,debug-threads=on).", default=False
        ),
        Key(
            "accel",
            Choice(Accel),
            "kvm, tcg, or auto (KVM only where a stock guest really runs on it, else TCG).",
            default=Accel.AUTO,
        ),
        Key("machine", Text(fields.parse_qemu_opts), 'QEMU machine and its options, e.g. "q35" or "pc,usb=off".'),
        Key("hotplug_slots", Number(0, 32), "Spare PCIe root ports on q35, for `vmrun nic add`.", default=4),
        Key(
            "memory",
            Size(fields.parse_memory, fields.render_memory),
            'Guest memory: "512M", "4G"; a bare number is MiB.',
            default=1024,
            field="memory_mib",
            option="--memory",
        ),
        Key("smp", Number(1, 4096), "Number of vCPUs.", default=1, option="--smp"),
        Key("cpu", Text(fields.parse_cpu), 'CPU model and flags, e.g. "host" or "kvm64,+vmx".'),
        Key("vga", Text(fields.parse_word), 'Display adapter (-vga), e.g. "std", "qxl", "virtio".'),
        Key("display", Text(fields.parse_qemu_opts), 'QEMU\'s display (-display), e.g. "none", "gtk".', default="none"),
        Key("kernel", Path(), "A kernel to boot directly (-kernel); relative to the profile's folder."),
        Key("initrd", Path(), "Its initramfs (-initrd)."),
        Key("append", Text(), 'Its command line (-append), e.g. "console=ttyS0".'),
        Key("cdrom", Path(), "An ISO attached as CD-ROM (-cdrom).", option="--cdrom"),
        *DEVICE_KEYS,
        Key("extra_args", Strings(), "More QEMU arguments, passed as given, last.", default=()),
        Key(
            "bus_devices",
            Strings(fields.parse_bus_device),
            'Ports and bridges NICs plug into with bus=, given first: "pcie-root-port,id=rp1,chassis=1".',
            default=(),
        ),
        Key(
            "engine",
            Choice(Engine),
            "qemu (vmrun starts QEMU itself) or libvirt (a libvirt domain at `connect`).",
            default=Engine.QEMU,
        ),
        Key(
            "connect",
            Text(),
            'libvirt URI for engine = "libvirt".',
            default=Shown("$VMRUN_CONNECT, else qemu:///system"),
        ),
        # The tables, last: each is a section below. nics before cloud_init and the rest: their defaults need `name`.
        Key("nics", Tables("nics"), "Network cards ([[nics]] tables); none means no network."),
        Key("drives", Tables("drives"), "Disks ([[drives]] tables)."),
        Key("networks", Tables("networks"), "Host networks `up` makes if missing ([[networks]] tables)."),
        Key(
            "cloud_init",
            Table("cloud_init"),
            "A NoCloud seed for a cloud image ([cloud_init] table), attached as a CD-ROM.",
        ),
        *DEVICE_TABLES,
    ),
)


def _net_n(ctx: Context, _: dict[str, Any]) -> str:
    return f"net{ctx.index}"


def _stable_mac(ctx: Context, nic: dict[str, Any]) -> str:
    return fields.stable_mac(ctx.vm_name, nic["id"])


N = NicType
TAPS = (N.BRIDGE, N.MACVTAP, N.OVS, N.NETWORK, N.TAP)  # the types whose backend is a tap (vhost, queues)
NICS = Section(
    "nics",
    Nic,
    (
        Key("type", Choice(NicType), "What the NIC is attached to on the host (the tables below).", default=N.USER),
        Key(
            "id",
            Text(fields.parse_id),
            "The NIC's id (QEMU netdev and device id).",
            default=Shown("net0, net1, ... by position", _net_n),
            option="--id",
        ),
        Key(
            "mac",
            Text(fields.parse_mac, "MAC"),
            "MAC address.",
            default=Shown("stable, derived from the VM's and the NIC's names", _stable_mac),
            option="--mac",
        ),
        Key(
            "model", Text(fields.parse_word), "Guest NIC model, e.g. e1000.", default="virtio-net-pci", option="--model"
        ),
        Key(
            "addr",
            Text(fields.parse_pci_addr),
            "The NIC's PCI slot, e.g. \"0x5\" (`vmrun import` pins a script's slots).",
            default=Shown("the next free one"),
        ),
        Key(
            "netdev_options",
            Text(fields.parse_netdev_options),
            'More -netdev options, verbatim, e.g. "hostname=vm" (`vmrun import` keeps a script\'s here).',
        ),
        Key(
            "device_options",
            Text(fields.parse_device_options),
            'More -device options, verbatim, e.g. "bus=rp1,ioeventfd=on".',
        ),
        Key(
            "hostfwd",
            Strings(fields.parse_hostfwd),
            'Port forwards, "tcp::2222-:22" (no host address: 127.0.0.1).',
            default=(),
            only=(N.USER, N.PASST),
            option="--hostfwd",
        ),
        Key("net", Text(), 'The guest\'s subnet, e.g. "10.0.2.0/24".', only=(N.USER,)),
        Key(
            "restrict",
            Flag(),
            "Isolate the guest from the host's networks (forwards still work).",
            default=False,
            only=(N.USER,),
        ),
        Key("bridge", Text(), "The Linux bridge to join.", only=(N.BRIDGE,), required=True, option="--bridge"),
        Key("bridge", Text(), "The Open vSwitch bridge to join.", only=(N.OVS,), required=True, option="--ovs"),
        Key(
            "via",
            Choice(Via),
            "Who makes the tap: tap (vmrun, as root), helper (qemu-bridge-helper), auto (tap if root).",
            default=Via.AUTO,
            only=(N.BRIDGE, N.NETWORK),
            option="--via",
        ),
        Key(
            "helper",
            Text(),
            "Path of qemu-bridge-helper.",
            default=Shown("found where QEMU keeps it"),
            only=(N.BRIDGE, N.NETWORK),
        ),
        Key(
            "vhost",
            Choice(Vhost),
            "vhost-net: on, off, or auto (if /dev/vhost-net opens).",
            default=Vhost.AUTO,
            only=TAPS,
            option="--vhost",
        ),
        Key("queues", Number(1, 64), "Multi-queue: number of queue pairs.", only=TAPS),
        Key(
            "parent", Text(), "The host NIC the macvtap sits on.", only=(N.MACVTAP,), required=True, option="--macvtap"
        ),
        Key(
            "mode", Choice(MacvtapMode), "macvtap mode.", default=MacvtapMode.BRIDGE, only=(N.MACVTAP,), option="--mode"
        ),
        Key("vlan", Number(1, 4094), "VLAN tag of the OVS port (access port).", only=(N.OVS,), option="--vlan"),
        Key(
            "network",
            Text(),
            "An active libvirt network; the NIC joins its bridge.",
            only=(N.NETWORK,),
            required=True,
            option="--network",
        ),
        Key("uri", Text(), "libvirt URI of that network.", default="qemu:///system", only=(N.NETWORK,)),
        Key(
            "ifname",
            Text(fields.parse_ifname),
            "The tap to use, made by someone else (type tap); vmrun never deletes it.",
            only=(N.TAP,),
        ),
        Key(
            "script",
            Text(),
            'Let QEMU make the tap and run this script on it (type tap); "/etc/qemu-ifup" is QEMU\'s.',
            only=(N.TAP,),
        ),
        Key("downscript", Text(), "The script QEMU runs when it closes a tap it made (type tap).", only=(N.TAP,)),
        Key(
            "backend",
            Text(fields.parse_netdev_backend),
            "A QEMU -netdev backend vmrun has no type for: socket, stream, dgram, vde, vhost-user...",
            only=(N.NETDEV,),
            required=True,
        ),
        Key(
            "options",
            Text(fields.parse_netdev_options),
            'That backend\'s options as -netdev takes them, e.g. "mcast=230.0.0.1:1234".',
            only=(N.NETDEV,),
        ),
    ),
    variant="type",
    noun="a NIC of type",
)


def _made_as_qcow2(_: Context, drive: dict[str, Any]) -> str | None:
    """What vmrun makes an image as, so QEMU need not probe it."""
    return "qcow2" if drive["size"] is not None or drive["backing"] is not None else None


DRIVES = Section(
    "drives",
    Drive,
    (
        Key("file", Path(), "The image file; relative to the profile's folder.", required=True),
        Key(
            "size",
            Size(fields.parse_disk_size, fields.render_disk_size),
            'Make the image this big with qemu-img if it is missing, e.g. "40G".',
        ),
        Key("backing", Path(), "Make the image a qcow2 overlay of this one if it is missing (never written to)."),
        Key(
            "format",
            Text(fields.parse_word),
            "qcow2, raw, ... (-drive format=).",
            default=Shown("probed by QEMU", _made_as_qcow2),
        ),
        Key(
            "media",
            Choice(Media),
            "disk, or cdrom: a read-only CD-ROM besides `cdrom` (a driver disc), on ide, sata or scsi.",
            default=Media.DISK,
        ),
        Key(
            "interface",
            Text(fields.parse_word),
            "virtio, ide, sata (an AHCI controller of vmrun's), scsi, ... (-drive if=); a CD-ROM's: ide unless said.",
            default="virtio",
        ),
        Key("aio", Text(fields.parse_word), "threads, native, io_uring (-drive aio=)."),
        Key("cache", Text(fields.parse_word), "none, writeback, ... (-drive cache=)."),
        Key("readonly", Flag(), "Attach read-only.", default=False),
        Key("snapshot", Flag(), "Throw writes away when QEMU exits (-drive snapshot=on).", default=False),
        Key(
            "addr",
            Text(fields.parse_pci_addr),
            'The virtio disk\'s PCI slot, e.g. "0x6".',
            default=Shown("the next free one"),
        ),
    ),
)

K = NetKind
LIBVIRT = (K.NAT, K.ISOLATED, K.ROUTE)
NETWORKS = Section(
    "networks",
    Network,
    (
        Key(
            "kind",
            Choice(NetKind),
            "nat, isolated, route (libvirt networks), bridge (a Linux bridge), ovs.",
            default=K.NAT,
        ),
        Key("name", Text(), "The network's name (libvirt's, or the bridge's).", required=True, option="NAME"),
        Key(
            "subnet",
            Text(fields.parse_subnet),
            'IPv4 subnet, e.g. "192.168.128.0/24"; the host is .1. Required for libvirt kinds.',
            only=LIBVIRT,
            option="--subnet",
        ),
        Key(
            "bridge",
            Text(),
            "The bridge's name.",
            default=Shown("vr-NAME, cut to 15 bytes"),
            only=LIBVIRT,
            option="--bridge",
        ),
        Key(
            "dhcp_range",
            Text(fields.parse_range),
            'DHCP range "FIRST-LAST".',
            default=Shown(".2 to the last host"),
            only=LIBVIRT,
            option="--dhcp-range",
        ),
        Key(
            "autostart",
            Flag(),
            "Start the network when libvirtd starts.",
            default=True,
            only=LIBVIRT,
            option="--no-autostart",
        ),
        Key("uri", Text(), "libvirt URI.", default="qemu:///system", only=LIBVIRT, option="--uri"),
        Key(
            "uplink",
            Text(),
            "The host NIC to put on the bridge, or to forward through (nat, route).",
            only=(K.NAT, K.ROUTE, K.BRIDGE, K.OVS),
            option="--uplink",
        ),
    ),
    variant="kind",
    noun="a network of kind",
)


def _host_name(ctx: Context, _: dict[str, Any]) -> str:
    return cloud_init.default_hostname(ctx.vm_name)


CLOUD_INIT = Section(
    "cloud_init",
    CloudInit,
    (
        Key(
            "hostname",
            Text(cloud_init.parse_hostname),
            "The guest's host name.",
            default=Shown("the VM's name", _host_name),
        ),
        Key(
            "user",
            Text(cloud_init.parse_user),
            "A user to create, who logs in with the keys below (its password is locked).",
        ),
        Key(
            "ssh_authorized_keys",
            Strings(cloud_init.parse_key),
            "SSH public keys, for that user (or the image's default user).",
            default=(),
        ),
        Key(
            "user_data",
            MultiLine(cloud_init.parse_user_data),
            "Your own user-data (#cloud-config ...), instead of the generated one.",
        ),
    ),
)

SECTIONS = {s.name: s for s in (TOP, NICS, DRIVES, NETWORKS, CLOUD_INIT, *DEVICE_SECTIONS)}


def own_keys(section: Section) -> dict[Any, set[str]]:
    """Which keys each NIC type (network kind) takes besides those every one takes."""
    return {v: {k.name for k in section.keys if k.only and v in k.only} for v in section.variants()}
