"""The validated profile: frozen dataclasses and enums for the closed choices."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Accel(enum.StrEnum):
    KVM = "kvm"
    TCG = "tcg"
    AUTO = "auto"  # KVM only if it really works here, else TCG with a notice


class Engine(enum.StrEnum):
    QEMU = "qemu"  # vmrun starts QEMU itself, on this host
    LIBVIRT = "libvirt"  # a libvirt domain, on the host `connect` names


class NicType(enum.StrEnum):
    USER = "user"
    BRIDGE = "bridge"
    MACVTAP = "macvtap"
    OVS = "ovs"
    NETWORK = "network"
    PASST = "passt"
    TAP = "tap"  # a tap that exists (ifname) or that QEMU makes and hands to its script
    NETDEV = "netdev"  # any other QEMU backend (socket, stream, dgram, vde...), options verbatim


class Firmware(enum.StrEnum):
    BIOS = "bios"  # QEMU's SeaBIOS
    UEFI = "uefi"  # OVMF, chosen from QEMU's firmware descriptors; the VM keeps its own NVRAM


class TpmVersion(enum.StrEnum):
    V2 = "2.0"
    V1 = "1.2"


class ShareType(enum.StrEnum):
    VIRTIOFS = "virtiofs"  # virtiofsd, started by vmrun per share (under libvirt, by libvirt)
    NINEP = "9p"  # QEMU's own 9p server: no daemon


class Audio(enum.StrEnum):
    NONE = "none"
    HDA = "hda"  # Intel HD Audio (intel-hda) with a duplex codec
    AC97 = "ac97"  # older guests (Windows XP, DOS-era drivers)


class AudioBackend(enum.StrEnum):
    """Where the guest's sound goes on the host: QEMU's -audiodev drivers (libvirt's <audio type=...>)."""

    NONE = "none"  # nowhere: the card works, nothing is heard (headless hosts, tests)
    PA = "pa"  # PulseAudio (and PipeWire's pulse server)
    ALSA = "alsa"
    OSS = "oss"
    JACK = "jack"
    SDL = "sdl"
    SPICE = "spice"  # to the SPICE client: needs [spice]
    WAV = "wav"  # into NAME.wav in the profile's folder


class Rtc(enum.StrEnum):
    UTC = "utc"  # what Linux guests expect
    LOCALTIME = "localtime"  # what Windows expects


class BootDevice(enum.StrEnum):
    """What `boot` orders: the first of each kind (SeaBIOS: -boot order=; OVMF: bootindex)."""

    CDROM = "cdrom"
    DISK = "disk"
    NETWORK = "network"  # PXE from the first NIC


class Media(enum.StrEnum):
    DISK = "disk"
    CDROM = "cdrom"  # a read-only CD-ROM (a second ISO: drivers, the virtio-win disc)


class SerialType(enum.StrEnum):
    TCP = "tcp"  # a TCP server (raw)
    TELNET = "telnet"  # a TCP server speaking telnet
    UNIX = "unix"  # a Unix socket server
    FILE = "file"  # the guest's output, written to a file
    PTY = "pty"  # a pseudo-terminal QEMU makes (query-chardev names it)


class Via(enum.StrEnum):
    AUTO = "auto"  # tap made by vmrun when root, qemu-bridge-helper otherwise
    HELPER = "helper"
    TAP = "tap"


class Vhost(enum.StrEnum):
    AUTO = "auto"
    ON = "on"
    OFF = "off"


class MacvtapMode(enum.StrEnum):
    BRIDGE = "bridge"
    VEPA = "vepa"
    PRIVATE = "private"
    PASSTHRU = "passthru"


@dataclass(frozen=True)
class HostFwd:
    """One port forward, host side to guest side; the host address is never empty."""

    proto: str
    host_addr: str
    host_port: int
    guest_addr: str
    guest_port: int

    def __str__(self) -> str:
        return f"{self.proto}:{self.host_addr}:{self.host_port}-{self.guest_addr}:{self.guest_port}"


@dataclass(frozen=True)
class Spice:
    port: int
    addr: str = "127.0.0.1"
    ticketing: bool = True
    password: str | None = None
    vdagent: bool = False


@dataclass(frozen=True)
class Tpm:
    """``[tpm]``: a TPM for the guest, emulated by swtpm (vmrun/devices/tpm.py; under libvirt, libvirt's own)."""

    version: TpmVersion = TpmVersion.V2


@dataclass(frozen=True)
class Share:
    """``[[shares]]``: a host folder the guest mounts by ``tag`` (vmrun/devices/shares.py)."""

    source: str
    tag: str
    type: ShareType = ShareType.VIRTIOFS
    readonly: bool = False


@dataclass(frozen=True)
class UsbDevice:
    """``[[usb]]``: a host USB device passed to the guest, by vendor and product or by where it is plugged."""

    id: str
    vendor: str | None = None  # 4 hex digits, lower case ("046d")
    product: str | None = None
    host: str | None = None  # "BUS-PORT" as sysfs names it ("1-2.3"): whatever is plugged there

    @property
    def what(self) -> str:
        """``046d:c52b`` or ``1-2.3``: how `usb add` and `usb list` write it."""
        return self.host if self.host is not None else f"{self.vendor}:{self.product}"


@dataclass(frozen=True)
class PciDevice:
    """``[[pci]]``: a host PCI function passed to the guest through VFIO."""

    host: str  # "0000:01:00.0", the domain always written
    options: str | None = None  # more -device vfio-pci options, verbatim (an import keeps a script's x-vga=on)


@dataclass(frozen=True)
class Serial:
    """``[[serials]]``: one more serial port (ttyS1, ttyS2, ...; ttyS0 is vmrun's console)."""

    type: SerialType
    port: int | None = None  # tcp, telnet
    addr: str = "127.0.0.1"  # tcp, telnet
    path: str | None = None  # unix (None: in the run folder), file


@dataclass(frozen=True)
class Drive:
    file: str
    interface: str = "virtio"
    format: str | None = None
    aio: str | None = None
    cache: str | None = None
    readonly: bool = False
    snapshot: bool = False
    addr: str | None = None  # PCI slot of an if=virtio disk, pinned
    size: int | None = None  # bytes: `up` makes the image with qemu-img if it is missing
    backing: str | None = None  # `up` makes the image as a qcow2 overlay of this one if it is missing
    media: Media = Media.DISK

    @property
    def made_by_vmrun(self) -> bool:
        """Whether `up` makes this image when it is missing."""
        return self.size is not None or self.backing is not None

    @property
    def cdrom(self) -> bool:
        return self.media is Media.CDROM


@dataclass(frozen=True)
class CloudInit:
    """``[cloud_init]``: what a NoCloud seed (vmrun/cloudinit.py) tells a cloud image on first boot."""

    hostname: str  # default: the VM's name
    user: str | None = None  # made, with sudo, the keys below; None: the image's default user gets them
    ssh_authorized_keys: tuple[str, ...] = ()
    user_data: str | None = None  # given whole, it replaces the generated #cloud-config


@dataclass(frozen=True)
class Nic:
    id: str
    type: NicType
    mac: str
    model: str = "virtio-net-pci"
    addr: str | None = None  # the device's PCI slot, pinned (an import keeps the script's)
    # What vmrun has no key for, verbatim (an import keeps a script's bus=, ioeventfd=, hostname=...)
    netdev_options: str | None = None
    device_options: str | None = None
    # user
    hostfwd: tuple[HostFwd, ...] = ()
    net: str | None = None
    restrict: bool = False
    # bridge, ovs (bridge name); macvtap (parent)
    bridge: str | None = None
    via: Via = Via.AUTO
    helper: str | None = None
    vhost: Vhost = Vhost.AUTO
    queues: int | None = None
    parent: str | None = None
    mode: MacvtapMode = MacvtapMode.BRIDGE
    vlan: int | None = None
    # libvirt network
    network: str | None = None
    uri: str = "qemu:///system"
    # tap
    ifname: str | None = None
    script: str | None = None
    downscript: str | None = None
    # netdev: -netdev BACKEND,id=ID,OPTIONS
    backend: str | None = None
    options: str | None = None


class NetKind(enum.StrEnum):
    NAT = "nat"  # libvirt networks: NAT, isolated (no forward), routed
    ISOLATED = "isolated"
    ROUTE = "route"
    BRIDGE = "bridge"  # a Linux bridge, over `uplink` if given
    OVS = "ovs"  # an Open vSwitch bridge, over `uplink` if given

    @property
    def libvirt(self) -> bool:
        return self in (NetKind.NAT, NetKind.ISOLATED, NetKind.ROUTE)


@dataclass(frozen=True)
class Network:
    """A host network a profile needs: `vmrun up` makes it if missing; `vmrun down` leaves it."""

    name: str
    kind: NetKind = NetKind.NAT
    subnet: str | None = None  # "192.168.128.0/24"; the host side is .1
    bridge: str | None = None
    dhcp_range: tuple[str, str] | None = None
    autostart: bool = True
    uri: str = "qemu:///system"
    uplink: str | None = None


@dataclass(frozen=True)
class Profile:
    name: str
    source: str
    memory_mib: int = 1024
    smp: int = 1
    qemu: str = "qemu-system-x86_64"
    process: str | None = None
    debug_threads: bool = False
    accel: Accel = Accel.AUTO
    machine: str | None = None
    hotplug_slots: int = 4  # spare PCIe root ports on q35, for `vmrun nic add`
    cpu: str | None = None
    vga: str | None = None
    display: str = "none"
    kernel: str | None = None
    initrd: str | None = None
    append: str | None = None
    cdrom: str | None = None
    firmware: Firmware = Firmware.BIOS
    secure_boot: bool = False  # with uefi: Secure Boot on, the descriptor's keys enrolled (q35 + SMM)
    spice: Spice | None = None
    drives: tuple[Drive, ...] = ()
    nics: tuple[Nic, ...] = ()
    networks: tuple[Network, ...] = ()
    extra_args: tuple[str, ...] = field(default=())
    bus_devices: tuple[str, ...] = ()  # -device values of ports and bridges, given before any device plugs in
    engine: Engine = Engine.QEMU
    connect: str | None = None  # libvirt URI; None: $VMRUN_CONNECT, else qemu:///system
    cloud_init: CloudInit | None = None
    tpm: Tpm | None = None
    shares: tuple[Share, ...] = ()
    usb: tuple[UsbDevice, ...] = ()
    pci: tuple[PciDevice, ...] = ()
    # everyday devices (vmrun/devices/everyday.py)
    audio: Audio = Audio.NONE
    audio_backend: AudioBackend = AudioBackend.NONE
    tablet: bool = False  # a usb-tablet on the machine's own USB
    rtc: Rtc = Rtc.UTC
    boot: tuple[BootDevice, ...] = ()  # the boot order (vmrun/devices/boot.py); () is the firmware's own
    boot_menu: bool = False
    serials: tuple[Serial, ...] = ()  # vmrun/devices/serials.py
    gdb: str | None = None  # "ADDR:PORT" of QEMU's gdb stub
    agent: bool = True  # a virtio-serial port for the QEMU guest agent (vmrun exec, cp, ip, ssh)

    @property
    def q35(self) -> bool:
        """Whether the machine is q35 (any version): PCIe, AHCI, SMM for Secure Boot."""
        return bool(self.machine) and self.machine.split(",")[0].startswith(("q35", "pc-q35"))

    @property
    def forwards(self) -> list[tuple[Nic, HostFwd]]:
        return [(nic, fwd) for nic in self.nics for fwd in nic.hostfwd]
