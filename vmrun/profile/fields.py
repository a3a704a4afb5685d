"""Parsers for single profile values; each raises ValueError with a message fit for a user.

``parse_rule_arg`` reads a command-line argument instead, so it raises the ProfileError itself.
"""

from __future__ import annotations

import ipaddress
import os
import re

from vmrun.errors import ProfileError
from vmrun.names import check_vm_name
from vmrun.profile.model import HostFwd

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGTPE]?)(?:i?B)?\s*$", re.IGNORECASE)
_FACTOR_MIB = {"K": 1 / 1024, "": 1, "M": 1, "G": 1024, "T": 1024**2, "P": 1024**3, "E": 1024**4}
# x86-64 addresses 52 physical bits, 4 PiB: QEMU refuses more whatever the host has.
_MAX_MEMORY_MIB = 4 * 1024**3
_MAC = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
_HOSTFWD = re.compile(r"^(?:(tcp|udp):)?([^:]*):(\d+)-([^:]*):(\d+)$")
_HOST_SIDE = re.compile(r"^(?:(tcp|udp):)?([^:]*):(\d+)$")
# Unicode category Cc: C0, DEL and C1. QEMU's option parser and argv/QMP/HMP lines cannot carry them.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def parse_memory(value: object) -> int:
    """``"8G"`` -> 8192 MiB; a bare number is MiB, as QEMU reads ``-m``."""
    if isinstance(value, bool):
        raise ValueError(f'{value!r} is not a size; write e.g. "8G" or "512M"')
    if isinstance(value, int):
        mib = value
    else:
        m = _SIZE.match(str(value))
        if not m:
            raise ValueError(f'{value!r} is not a size; write e.g. "8G" or "512M"')
        mib = float(m.group(1)) * _FACTOR_MIB[m.group(2).upper()]  # 309 digits or more make inf: too large below
    if mib > _MAX_MEMORY_MIB:
        raise ValueError(f"{value!r} is too large: at most 4P (x86-64 addresses 52 physical bits)")
    if mib != int(mib):
        raise ValueError(f"{value!r} is not a whole number of MiB")
    if mib < 16:
        raise ValueError(f"{value!r} is too small: at least 16M")
    return int(mib)


_DISK_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGTPE])(?:i?B)?\s*$", re.IGNORECASE)
_DISK_FACTOR = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4, "P": 1024**5, "E": 1024**6}
# What qemu-img accepts for a qcow2 image (QCOW_MAX_L1_SIZE gives 2^55 at the default cluster size); raw alike here.
_MAX_DISK = 2**55


def parse_disk_size(value: object) -> int:
    """``"40G"`` -> bytes (powers of 1024, as qemu-img reads them); a bare integer is bytes, as for qemu-img."""
    if isinstance(value, bool):
        raise ValueError(f'{value!r} is not a size; write e.g. "40G"')
    if isinstance(value, int):
        size = value
    else:
        m = _DISK_SIZE.match(str(value))
        if not m:
            raise ValueError(f'{value!r} is not a size; write e.g. "40G" or "512M"')
        size = float(m.group(1)) * _DISK_FACTOR[m.group(2).upper()]
    if size > _MAX_DISK:
        raise ValueError(f"{value!r} is too large: at most 32P")
    if size < 512 or size != int(size):
        raise ValueError(f"{value!r} is too small or not whole: at least 512 bytes")
    return int(size)


def render_disk_size(size: int) -> str:
    """Bytes as the largest unit that divides them (``42949672960`` -> ``40G``)."""
    for unit in "EPTGMK":
        if size % _DISK_FACTOR[unit] == 0:
            return f"{size // _DISK_FACTOR[unit]}{unit}"
    return f"{size}B"


def render_memory(mib: int) -> str:
    return f"{mib // 1024}G" if mib % 1024 == 0 else f"{mib}M"


def parse_mac(value: str) -> str:
    if not _MAC.match(value):
        raise ValueError(f"{value!r} is not a MAC address; write six hex pairs like 52:54:00:12:34:56")
    if int(value[:2], 16) & 1:
        raise ValueError(f"{value!r} is a multicast address; the first octet must be even")
    return value.lower()


def stable_mac(vm_name: str, nic_id: str) -> str:
    """A MAC that depends only on the VM and NIC names, so guest interface names never move."""
    import hashlib  # here, not at the top: it costs `vmrun up` 2 ms to import

    digest = hashlib.sha256(f"{vm_name}/{nic_id}".encode()).digest()
    return "52:54:00:" + ":".join(f"{b:02x}" for b in digest[:3])


def check_printable(value: str) -> str:
    """Refuse control characters (tab and newline too): no QEMU option, argv word or monitor line can carry them."""
    m = _CONTROL.search(value)
    if m:
        raise ValueError(f"contains a control character (U+{ord(m.group()):04X}); QEMU options cannot carry it")
    return value


def visible(text: str) -> str:
    """``text`` with control characters escaped (``\\x0a``), so an error naming it stays one line."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def parse_hostfwd(value: str) -> HostFwd:
    """QEMU's ``[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport``; no host address means loopback."""
    m = _HOSTFWD.match(value.strip())
    if not m:
        raise ValueError(
            f"{value!r} is not a forward; write proto:hostaddr:hostport-guestaddr:guestport, e.g. tcp::2222-:22"
        )
    proto, host_addr, host_port, guest_addr, guest_port = m.groups()
    _check_endpoint(value, host_addr, host_port)
    _check_endpoint(value, guest_addr, guest_port)
    return HostFwd(proto or "tcp", host_addr or "127.0.0.1", int(host_port), guest_addr, int(guest_port))


def _check_endpoint(value: str, addr: str, port: str) -> None:
    if addr:
        try:
            ipaddress.IPv4Address(addr)
        except ValueError:
            raise ValueError(f"{value!r}: {addr!r} is not an IPv4 address") from None
    if not 0 < int(port) < 65536:
        raise ValueError(f"{value!r}: port {int(port)} is out of range 1-65535")


def parse_rule_arg(text: str, *, host_side_only: bool = False) -> HostFwd:
    """A forward typed after `vmrun fwd add/del`; errors quote it as typed, never a rewritten form.

    ``host_side_only`` (for `fwd del`) also takes ``[proto]:[hostaddr]:hostport`` alone; the guest
    side of what it returns is then a placeholder (port 1), since the host side alone names a forward.
    """
    rule = text.strip()
    host_side = _HOST_SIDE.match(rule) if host_side_only else None
    if host_side_only and not host_side and not _HOSTFWD.match(rule):
        raise ProfileError(
            f"{text!r} is not a forward; write proto:hostaddr:hostport, e.g. tcp::2222 or :2222, or the whole rule"
        )
    try:
        if not host_side:
            return parse_hostfwd(text)
        proto, host_addr, host_port = host_side.groups()
        _check_endpoint(text, host_addr, host_port)
        return HostFwd(proto or "tcp", host_addr or "127.0.0.1", int(host_port), "", 1)
    except ValueError as e:
        raise ProfileError(str(e)) from None


parse_name = check_vm_name  # the profile's `name` is the VM's name


def parse_id(value: str) -> str:
    """QEMU ids: a letter first, then letters, digits, '-', '.', '_'."""
    if not re.match(r"^[A-Za-z][A-Za-z0-9_.-]{0,31}$", value):
        raise ValueError(f"{value!r} is not a QEMU id: a letter first, then letters, digits, '-', '.', '_'")
    return value


_WORD = re.compile(r"^[A-Za-z0-9_.-]+$")
_CPU_FLAG = re.compile(r"^[+-]?[A-Za-z0-9_.-]+(=[A-Za-z0-9_.-]+)?$")
_OPT_PAIR = re.compile(r"^[A-Za-z0-9_.-]+=[A-Za-z0-9_.:/-]+$")


def parse_word(value: str) -> str:
    """A bare QEMU name (a device model, a drive interface); nothing that could open another option."""
    if not _WORD.match(value):
        raise ValueError(f"{value!r} is not a plain name (letters, digits, '_', '.', '-')")
    return value


def parse_cpu(value: str) -> str:
    """``kvm64,+vmx``: a model then flags; the commas are QEMU's own, so each part is checked instead."""
    model, *flags = value.split(",")
    parse_word(model)
    for flag in flags:
        if not _CPU_FLAG.match(flag):
            raise ValueError(f"{value!r}: {flag!r} is not a CPU flag like +vmx, -svm or level=13")
    return value


def parse_qemu_opts(value: str) -> str:
    """``q35`` or ``gtk,gl=on``: a name then key=value pairs, each checked."""
    head, *pairs = value.split(",")
    parse_word(head)
    for pair in pairs:
        if not _OPT_PAIR.match(pair):
            raise ValueError(f"{value!r}: {pair!r} is not a key=value setting")
    return value


def expand_path(value: str, base: str) -> str:
    """``~`` and ``$VAR`` expanded; a relative path is taken from the profile's folder."""
    path = os.path.expandvars(os.path.expanduser(value))
    return path if os.path.isabs(path) else os.path.normpath(os.path.join(base, path))


_PCI_ADDR = re.compile(r"^(?:0x)?([0-9a-fA-F]{1,2})(?:\.(?:0x)?([0-7]))?$")


def parse_pci_addr(value: str) -> str:
    """A PCI slot as QEMU's ``addr=`` takes it: ``0x5``, ``05.0``, ``0x3.0x1``."""
    m = _PCI_ADDR.match(value)
    if not m or int(m.group(1), 16) > 0x1F:
        raise ValueError(f"{value!r} is not a PCI slot like 0x5 or 05.1 (slot 0-1f, function 0-7)")
    return value


def parse_ifname(value: str) -> str:
    """A network interface name as the kernel takes it (15 bytes, no '/', ':' or blanks)."""
    if not re.match(r"^[A-Za-z0-9_.-]{1,15}$", value) or value in (".", ".."):
        raise ValueError(f"{value!r} is not an interface name (at most 15 letters, digits, '_', '.', '-')")
    return value


# Backends that have a NIC type of their own: written as that type, vmrun sees and manages them.
_TYPED_BACKENDS = {"user": "user", "tap": "tap", "bridge": "bridge"}


def parse_netdev_backend(value: str) -> str:
    """A -netdev backend vmrun has no type for: ``socket``, ``stream``, ``dgram``, ``vde``, ``vhost-user``..."""
    parse_word(value)
    if value in _TYPED_BACKENDS:
        raise ValueError(f"write type = {_TYPED_BACKENDS[value]!r} for a {value} backend")
    if value in ("none", "hubport", "nic"):
        raise ValueError(f"{value!r} is not a backend a NIC can use")
    return value


def netdev_pairs(value: str) -> list[tuple[str, str]]:
    """``mcast=230.0.0.1:1234,localaddr=127.0.0.1`` -> pairs, QEMU's ``,,`` undone."""
    pairs = option_pairs(value)
    if any(key == "id" for key, _ in pairs):
        raise ValueError("id= is the NIC's id: vmrun gives it")
    return pairs


def parse_netdev_options(value: str) -> str:
    """The backend's options as QEMU's -netdev takes them; kept verbatim, checked pair by pair."""
    check_printable(value)
    netdev_pairs(value)
    return value


# What vmrun gives a NIC's -device itself: its own keys (mac, addr) or the NIC's identity.
_DEVICE_OWN = {"driver": "model", "netdev": "the NIC's id", "id": "the NIC's id", "mac": "mac", "addr": "addr"}


def parse_device_options(value: str) -> str:
    """More -device options for a NIC (``bus=rp1,ioeventfd=on``); kept verbatim, checked pair by pair."""
    return _options_vmrun_does_not_give(value, _DEVICE_OWN)


# What vmrun gives a passed PCI function's -device itself.
_VFIO_OWN = {"driver": "vfio-pci", "host": "host", "id": "pci[N]", "bus": "its own root port", "addr": "its slot"}


def parse_vfio_options(value: str) -> str:
    """More -device vfio-pci options (``x-vga=on,romfile=gpu.rom``); kept verbatim, checked pair by pair."""
    return _options_vmrun_does_not_give(value, _VFIO_OWN)


def _options_vmrun_does_not_give(value: str, own: dict[str, str]) -> str:
    check_printable(value)
    for key, _ in option_pairs(value):
        if key in own:
            raise ValueError(f"{key}= is given by vmrun ({own[key]})")
    return value


def parse_bus_device(value: str) -> str:
    """A -device value for a port or bridge other devices plug into, e.g. ``pcie-root-port,id=rp1,chassis=1``."""
    check_printable(value)
    driver, _, rest = value.partition(",")
    if not re.match(r"^[A-Za-z][A-Za-z0-9_.-]*$", driver):
        raise ValueError(f"{value!r} does not start with a device name (pcie-root-port,id=...)")
    if "id" not in dict(option_pairs(rest)):
        raise ValueError(f"{value!r} has no id= for other devices to name as their bus=")
    return value


def option_pairs(value: str) -> list[tuple[str, str]]:
    """``k=v,k2=v2`` -> pairs, QEMU's ``,,`` undone; any key (id= too)."""
    from vmrun.qemuopts import split

    pairs = []
    for part in split(value) if value else []:
        key, eq, val = part.partition("=")
        if not eq or not re.match(r"^[A-Za-z][A-Za-z0-9_.-]*$", key):
            raise ValueError(f"{part!r} is not a key=value setting (a literal comma is written ,,)")
        pairs.append((key, val))
    return pairs


def parse_subnet(value: str) -> str:
    try:
        net = ipaddress.IPv4Network(value.strip(), strict=False)
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 subnet; write e.g. 192.168.128.0/24") from None
    if str(net) != value.strip() or "/" not in value:
        raise ValueError(f"{value!r} is not a subnet's own address; write {net}")
    if net.prefixlen > 30:
        raise ValueError(f"{value!r} is too small: a /30 at most (a gateway and a guest)")
    return str(net)


def parse_range(value: str) -> tuple[str, str]:
    first, sep, last = value.partition("-")
    try:
        a, b = ipaddress.IPv4Address(first.strip()), ipaddress.IPv4Address(last.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a range; write FIRST-LAST, e.g. 192.168.128.100-192.168.128.200") from None
    if not sep or a > b:
        raise ValueError(f"{value!r} is not a range; write FIRST-LAST with FIRST <= LAST")
    return str(a), str(b)
