"""`vmrun up` under libvirt: the profile as domain XML (:mod:`.xml`, pure), created transient or defined (--persist);
its cloud-init seed made first where libvirt runs on this host (:mod:`.seed`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from vmrun import disks
from vmrun.adapters import libvirt as lv
from vmrun.argv import RunOptions
from vmrun.engines.base import not_supported
from vmrun.engines.libvirt import uris
from vmrun.engines.libvirt.dom import lookup
from vmrun.engines.libvirt.host import choose_accel, emulator, userspace_ovs
from vmrun.engines.libvirt.uris import host_of
from vmrun.engines.libvirt.vm import LibvirtVm
from vmrun.errors import LaunchError, ProfileError, StateError
from vmrun.profile.model import Profile


@dataclass
class StartedDomain:
    """What `up` started under libvirt, for the rest of `up` (vmrun.engines.base.Started)."""

    vm: LibvirtVm
    profile: Profile
    persist: bool

    def to_json(self) -> dict[str, Any]:
        return self.vm.state().to_json()

    def summary(self) -> str:
        from vmrun.summary import libvirt_summary

        return libvirt_summary(self.vm, self.vm.state(), self.profile, persist=self.persist)

    def wait(self, timeout: float) -> None:
        from vmrun.guestwait import wait_for_domain

        wait_for_domain(self.profile, self.vm, timeout=timeout)

    def attach(self) -> None:
        raise not_supported(self.vm.name, "up --foreground", self.vm.engine)

    def power_off(self) -> None:
        self.vm.down(timeout=30.0)


def up(
    profile: Profile,
    uri: str,
    *,
    persist: bool = False,
    notice: Callable[[str], None] = lambda _: None,
    options: RunOptions = RunOptions(),
) -> LibvirtVm:
    from vmrun.engines.libvirt import seed

    profile = run_options(profile, options, persist=persist)
    _disks_here(profile, uri)
    seed.check(profile, uri)  # on another host: NotSupported, before anything is made
    if profile.shares and host_of(uri) == "local":  # elsewhere the folders are libvirt's host's to check
        from vmrun.devices.shares import check_sources

        check_sources(profile)
    with lv.connect(uri) as conn:
        old = lookup(conn, profile.name)
        if old is not None and old.isActive():
            raise StateError(f"{profile.name}: already running on {uri}", hint=f"vmrun down {profile.name} -c {uri}")
        made = disks.ensure(profile, notice)  # before libvirt opens them; kept if the rest fails (see vmrun.disks)
        seed_iso = seed.make(profile, uri)
        try:
            _start(conn, profile, uri, old, options, persist=persist, seed=seed_iso, notice=notice)
        except BaseException:
            if seed_iso is not None:
                seed.remove(profile.name, quiet=True)  # the error that ended `up` is the one to say
            raise
    uris.remember(uri)
    for m in made:
        notice(f"made disk {m}")
    return LibvirtVm(uri, profile.name)


def _start(
    conn: Any,
    profile: Profile,
    uri: str,
    old: Any,
    options: RunOptions,
    *,
    persist: bool,
    seed: Path | None,
    notice: Callable[[str], None],
) -> None:
    """The domain XML, then libvirt creates (or defines and starts) the domain."""
    from vmrun.engines.libvirt.xml import domain_xml

    built = domain_xml(
        profile,
        accel=choose_accel(conn, profile.accel),
        emulator=emulator(conn, profile),
        libvirt_version=conn.getLibVersion(),
        userspace_ovs=userspace_ovs(profile.nics, uri),
        seed=str(seed) if seed is not None else None,
    )
    for warning in built.warnings:
        notice(warning)
    xml = built.xml if old is None else keep_uuid(built.xml, old.UUIDString())
    with lv.failing(
        f"{profile.name}: libvirt at {uri} refused to start it",
        error=LaunchError,
        hint=f"the domain XML is in `vmrun show {profile.name} --libvirt`",
    ):
        flags = start_flags(options)
        if persist:
            dom = conn.defineXML(xml)
            try:
                dom.createWithFlags(flags)
            except BaseException:
                lv.quietly(dom.undefine)
                raise
        else:
            conn.createXML(xml, flags)


def keep_uuid(xml: str, uuid: str) -> str:
    """A domain of this name defined before (`up --persist`, `virsh define`) keeps its uuid: libvirt refuses
    the name with another one, and keeps that domain's TPM state under it."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(xml)
    element = root.find("uuid")
    if element is None:
        element = ET.Element("uuid")
        root.insert(1, element)  # after <name>
    element.text = uuid
    return ET.tostring(root, encoding="unicode")


def start_flags(options: RunOptions) -> int:
    """libvirt keeps a UEFI domain's NVRAM in its own folder: `up --reset-nvram` asks it to copy the template
    afresh as it starts the domain (VIR_DOMAIN_START_RESET_NVRAM, libvirt 8.1 and later)."""
    import libvirt

    return libvirt.VIR_DOMAIN_START_RESET_NVRAM if options.reset_nvram else 0


def run_options(profile: Profile, options: RunOptions, *, persist: bool) -> Profile:
    """`up --snapshot` as libvirt's <transient/> on every writable disk; `up --cdrom` is refused (no boot-once).
    (`up --reset-nvram` is a flag to libvirt's start: :func:`start_flags`.)"""
    if options.boot_cdrom:
        raise ProfileError(
            "--cdrom needs the qemu engine: libvirt has no boot-once",
            hint='set cdrom = "ISO" in the profile (or --set cdrom=ISO): libvirt boots the disk, then the CD-ROM',
        )
    if not options.snapshot:
        return profile
    if persist:
        raise ProfileError("--snapshot cannot go with --persist: a defined domain would keep its disks transient")
    drives = tuple(d if d.readonly else replace(d, snapshot=True) for d in profile.drives)
    return replace(profile, drives=drives)


def _disks_here(profile: Profile, uri: str) -> None:
    """Disks the profile has vmrun make (size, backing): only where this vmrun sees the files, a local libvirt."""
    wanted = [i for i, d in enumerate(profile.drives) if d.made_by_vmrun]
    if wanted and host_of(uri) != "local":
        key = "backing" if profile.drives[wanted[0]].backing else "size"
        raise ProfileError(
            f"vmrun makes disk images only when libvirt runs on this host, not at {uri}",
            source=profile.source,
            field=f"drives[{wanted[0]}].{key}",
            hint="make the image there with qemu-img create, and leave size and backing out",
        )
