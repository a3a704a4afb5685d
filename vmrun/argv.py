"""The QEMU command line: a pure function of the profile and of what was prepared.

No I/O here: the accelerator is already chosen, the NIC backends have already
said what each -netdev is (tap fds, bridge names, socket paths), the devices their
host side (swtpm's socket), and vmrun's own plumbing (QMP and serial sockets) comes
in as :class:`Control`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from vmrun.devices.agent import agent_args
from vmrun.devices.boot import boot_args, bootindex
from vmrun.devices.drives import drive_args
from vmrun.devices.everyday import everyday_args
from vmrun.devices.firmware import PreparedFirmware, firmware_args, machine_options
from vmrun.devices.pci import pci_args
from vmrun.devices.serials import gdb_args, serial_args
from vmrun.devices.shares import machine_options as share_machine_options
from vmrun.devices.shares import share_args
from vmrun.devices.usb import usb_args
from vmrun.net.base import NetdevSpec
from vmrun.profile.fields import option_pairs, render_memory
from vmrun.profile.model import Accel, BootDevice, Profile, TpmVersion
from vmrun.qemuopts import opts


@dataclass(frozen=True)
class Control:
    """vmrun's own channels to a running guest; absent from what `vmrun show` prints."""

    qmp_socket: str
    serial_socket: str
    serial_log: str
    spice_password_file: str | None = None
    qmp_fd: int | None = None  # the listening QMP socket vmrun made, passed to QEMU
    pidfile: str | None = None  # how vmrun finds this QEMU again if its state.json is lost


@dataclass(frozen=True)
class RunOptions:
    """How one run differs from its profile, never saved in it (`up --snapshot`, `up --cdrom ISO`)."""

    snapshot: bool = False  # -snapshot: every disk write goes to a temporary overlay, dropped at exit
    boot_cdrom: bool = False  # -boot once=d: the CD-ROM first, for this boot only (under UEFI: bootindex, this run)
    reset_nvram: bool = False  # UEFI: start again from the firmware's NVRAM template


def build_argv(
    profile: Profile,
    netdevs: Mapping[str, NetdevSpec],
    *,
    qemu: str,
    accel: Accel,
    control: Control | None = None,
    seed: str | None = None,
    tpm_socket: str | None = None,
    run: RunOptions = RunOptions(),
    firmware: PreparedFirmware | None = None,
    share_sockets: Mapping[str, str] | None = None,
    agent_socket: str | None = None,
    run_dir: str | None = None,
) -> list[str]:
    """``seed``: the cloud-init seed ISO `up` made (or, for `show`, where it would be), attached read-only;
    ``firmware``: the UEFI firmware and the VM's NVRAM (None: QEMU's BIOS);
    ``tpm_socket``: the control socket of the swtpm `up` started for ``[tpm]`` (for `show`, where it would be);
    ``share_sockets``: the socket of each virtiofs share's virtiofsd, by tag (likewise);
    ``agent_socket``: where QEMU listens for vmrun's guest agent client (likewise);
    ``run_dir``: the VM's run folder, for a [[serials]] unix socket without a path (likewise; by default the
    folder of ``control``'s serial socket: the console's socket and the other serial ports' sit side by side)."""
    if run_dir is None and control is not None:
        run_dir = os.path.dirname(control.serial_socket)
    uefi = firmware is not None
    cdrom_index = 0 if run.boot_cdrom and uefi else bootindex(profile, BootDevice.CDROM, uefi=uefi)
    argv = [qemu]
    argv += _machine(profile, accel, firmware)
    argv += firmware_args(firmware)
    argv += _bus_devices(profile)
    argv += _nics(profile, netdevs, bootindex(profile, BootDevice.NETWORK, uefi=uefi))
    argv += _hotplug_ports(profile)
    argv += _spice_agent(profile)
    argv += _media(profile, cdrom_index, bootindex(profile, BootDevice.DISK, uefi=uefi))
    argv += _seed(seed)
    argv += _tpm(profile, tpm_socket)
    argv += share_args(profile, share_sockets or {})
    argv += usb_args(profile)
    argv += pci_args(profile)
    argv += everyday_args(profile)
    argv += serial_args(profile, run_dir)
    argv += gdb_args(profile)
    argv += _name(profile)
    argv += _spice(profile, control)
    argv += _boot(profile)
    argv += ["-snapshot"] if run.snapshot else []
    argv += boot_args(profile, once_cdrom=run.boot_cdrom, uefi=uefi)
    if control is not None:
        argv += _control(control)
    argv += list(profile.extra_args)
    # Last, on a slot of its own: no device of the profile or of extra_args moves for it.
    argv += agent_args(profile, agent_socket)
    return argv


def _machine(p: Profile, accel: Accel, firmware: PreparedFirmware | None) -> list[str]:
    argv = ["-accel", accel.value]
    wanted = [*machine_options(firmware), *share_machine_options(p)]
    added = [(k, v) for k, v in wanted if f"{k}=" not in (p.machine or "")]
    if p.machine or added:
        argv += ["-machine", ",".join(part for part in (p.machine, opts(None, added)) if part)]
    argv += ["-m", render_memory(p.memory_mib)]
    if p.cpu:
        argv += ["-cpu", p.cpu]
    if p.vga:
        argv += ["-vga", p.vga]
    argv += ["-display", p.display]
    argv += ["-smp", str(p.smp)]
    return argv


def _nics(p: Profile, netdevs: Mapping[str, NetdevSpec], boot_index: int | None = None) -> list[str]:
    """``boot_index``: the first NIC's bootindex (under UEFI, network in `boot`)."""
    argv: list[str] = []
    for i, nic in enumerate(p.nics):
        spec = netdevs[nic.id]
        # The device gets the NIC's id too, so that QMP (`nic list`, `nic del`) can address it.
        device = [("netdev", nic.id), ("mac", nic.mac), ("id", nic.id), ("addr", nic.addr), *spec.device_options]
        if i == 0 and boot_index is not None:
            device.append(("bootindex", boot_index))
        device += option_pairs(nic.device_options or "")
        argv += ["-device", opts(nic.model, device)]
        netdev = [("id", nic.id), *spec.options, *option_pairs(nic.netdev_options or "")]
        argv += ["-netdev", opts(spec.backend, netdev)]
    return argv


def _bus_devices(p: Profile) -> list[str]:
    """Ports and bridges (``bus_devices``), ahead of every device that may name one as its bus=."""
    argv: list[str] = []
    for value in p.bus_devices:
        driver, _, rest = value.partition(",")
        argv += ["-device", opts(driver, option_pairs(rest))]
    return argv


HOTPLUG_PORT = "vmrun-hp{}"
CDROM_ID = "vmrun-cdrom"  # under UEFI with `up --cdrom`: a -device of its own, to carry a bootindex
CDROM_INDEX = 2  # what -cdrom means: IDE index 2, the secondary master, where every installer looks
SEED_INDEX = 3  # the cloud-init seed, after it: `-boot once=d` boots the first CD-ROM, the install ISO


def is_q35(p: Profile) -> bool:
    return p.q35


def _hotplug_ports(p: Profile) -> list[str]:
    """q35 has no hot-pluggable root bus: give `vmrun nic add` spare PCIe root ports."""
    if not is_q35(p):
        return []
    argv: list[str] = []
    for i in range(p.hotplug_slots):
        argv += ["-device", opts("pcie-root-port", [("id", HOTPLUG_PORT.format(i)), ("chassis", 100 + i)])]
    return argv


def _spice_agent(p: Profile) -> list[str]:
    if not (p.spice and p.spice.vdagent):
        return []
    return [
        "-device",
        "virtio-serial",
        "-chardev",
        opts("spicevmc", [("id", "vdagent"), ("debug", 0), ("name", "vdagent")]),
        "-device",
        opts("virtserialport", [("chardev", "vdagent"), ("name", "com.redhat.spice.0")]),
    ]


def _media(p: Profile, cdrom_index: int | None = None, disk_index: int | None = None) -> list[str]:
    """The drives, then the CD-ROM; ``cdrom_index``, ``disk_index``: the bootindex of the first CD-ROM and of
    the first disk (under UEFI), which puts each on a -device of its own."""
    argv = drive_args(p, disk_index, None if p.cdrom else cdrom_index)
    if p.cdrom and cdrom_index is not None:
        # OVMF ignores -boot: it boots in bootindex order. The CD-ROM sits where -cdrom puts it (IDE index 2).
        drive = [("if", "none"), ("id", CDROM_ID), ("file", p.cdrom), ("media", "cdrom"), ("readonly", True)]
        bus = "ide.2" if p.q35 else "ide.1"
        argv += ["-drive", opts(None, drive)]
        device = [("drive", CDROM_ID), ("bus", bus), ("unit", 0), ("bootindex", cdrom_index)]
        argv += ["-device", opts("ide-cd", device)]
    elif p.cdrom:
        argv += [
            "-drive",
            opts(None, [("file", p.cdrom), ("index", CDROM_INDEX), ("media", "cdrom"), ("readonly", True)]),
        ]
    return argv


def _seed(seed: str | None) -> list[str]:
    if seed is None:
        return []
    pairs = [
        ("file", seed),
        ("id", "cidata"),
        ("index", SEED_INDEX),
        ("media", "cdrom"),
        ("format", "raw"),
        ("readonly", True),
    ]
    return ["-drive", opts(None, pairs)]


def tpm_model(p: Profile) -> str:
    """The CRB interface on q35 (TPM 2.0 only); TIS elsewhere, and for TPM 1.2."""
    assert p.tpm is not None
    return "tpm-crb" if is_q35(p) and p.tpm.version is TpmVersion.V2 else "tpm-tis"


def _tpm(p: Profile, socket: str | None) -> list[str]:
    if p.tpm is None:
        return []
    if socket is None:
        raise ValueError("[tpm] needs the swtpm control socket prepared (or, for show, where it will be)")
    return [
        "-chardev",
        opts("socket", [("id", "vmrun-tpm"), ("path", socket)]),
        "-tpmdev",
        opts("emulator", [("id", "vmrun-tpm"), ("chardev", "vmrun-tpm")]),
        "-device",
        opts(tpm_model(p), [("tpmdev", "vmrun-tpm")]),
    ]


def _name(p: Profile) -> list[str]:
    pairs = [("process", p.process), ("debug-threads", True if p.debug_threads else None)]
    return ["-name", opts(p.name, pairs)]


def _spice(p: Profile, control: Control | None) -> list[str]:
    s = p.spice
    if s is None:
        return []
    argv: list[str] = []
    pairs: list[tuple[str, object]] = [("port", s.port), ("addr", s.addr)]
    if not s.ticketing:
        pairs.append(("disable-ticketing", True))
    elif s.password is not None:
        # A secret object keeps the password out of `ps`; only `show` spells it out.
        if control and control.spice_password_file:
            secret = [("id", "spice-password"), ("file", control.spice_password_file)]
        else:
            secret = [("id", "spice-password"), ("data", s.password)]
        argv += ["-object", opts("secret", secret)]
        pairs.append(("password-secret", "spice-password"))
    return argv + ["-spice", opts(None, pairs)]


def _boot(p: Profile) -> list[str]:
    argv: list[str] = []
    if p.kernel:
        argv += ["-kernel", p.kernel]
    if p.initrd:
        argv += ["-initrd", p.initrd]
    if p.append:
        argv += ["-append", p.append]
    return argv


def _control(c: Control) -> list[str]:
    qmp = ("fd", c.qmp_fd) if c.qmp_fd is not None else ("path", c.qmp_socket)
    return [
        "-chardev",
        opts("socket", [("id", "vmrun-qmp"), qmp, ("server", True), ("wait", False)]),
        "-mon",
        "chardev=vmrun-qmp,mode=control",
        "-chardev",
        opts(
            "socket",
            [
                ("id", "vmrun-serial"),
                ("path", c.serial_socket),
                ("server", True),
                ("wait", False),
                ("logfile", c.serial_log),
                ("logappend", True),
            ],
        ),
        "-serial",
        "chardev:vmrun-serial",
        *(["-pidfile", c.pidfile] if c.pidfile else []),
    ]
