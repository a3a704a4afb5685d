"""A VM run by libvirt, locally or on another host: the same calls as :class:`vmrun.vm.Vm`.

`up` turns the profile into domain XML (:mod:`.xml`, pure) and creates a
transient domain (or defines one with ``--persist``); the domain carries
vmrun's metadata (profile path, NIC ids, forwards), so `ps`, `nic` and `fwd`
know it again from libvirt alone, on whichever host it now runs.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlparse

from vmrun import disks
from vmrun.adapters import libvirt as lv
from vmrun.argv import RunOptions
from vmrun.engines.libvirt import uris
from vmrun.errors import EngineError, HostNetError, LaunchError, ProfileError, QmpError, StateError
from vmrun.profile.model import Accel, Nic, NicType, Profile
from vmrun.runstate import RUNNING, Forward, NicState, RunState

SHUTDOWN_REPEAT = 3.0
# virDomainState -> what `ps` says, as QEMU's own run states read
STATES = {0: "unknown", 1: "running", 2: "blocked", 3: "paused", 4: "shutting down", 5: "shut off", 6: "crashed",
          7: "suspended"}  # fmt: skip


def host_of(uri: str) -> str:
    return urlparse(uri).hostname or "local"


def _lookup(conn: Any, name: str) -> Any | None:
    libvirt = lv.quiet_libvirt()
    try:
        return conn.lookupByName(name)
    except libvirt.libvirtError as e:
        if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            return None
        raise EngineError(f"{name}: libvirt cannot look it up: {lv.reason(e)}") from None


def metadata(dom: Any) -> dict[str, Any] | None:
    """vmrun's metadata of a domain; None if vmrun did not make it."""
    from vmrun.engines.libvirt.xml import read_metadata

    return read_metadata(dom.XMLDesc(0))


class LibvirtVm:
    engine = "libvirt"

    def __init__(self, uri: str, name: str) -> None:
        self.uri = uri
        self.name = name

    @property
    def host(self) -> str:
        return host_of(self.uri)

    @classmethod
    def find(cls, name: str, where: list[str]) -> LibvirtVm | None:
        """The domain of that name that vmrun made, on the first of ``where`` that has one."""
        for uri in where:
            try:
                with lv.connect(uri, readonly=True) as conn:
                    dom = _lookup(conn, name)
                    if dom is not None and metadata(dom) is not None:
                        return cls(uri, name)
            except (ProfileError, StateError, EngineError):
                continue  # a host that does not answer now must not hide the others
        return None

    @contextmanager
    def domain(self) -> Iterator[Any]:
        with lv.connect(self.uri) as conn:
            dom = _lookup(conn, self.name)
            if dom is None or metadata(dom) is None:
                raise StateError(f"{self.name}: not running on {self.uri}")
            yield dom

    def state(self) -> RunState:
        """What `ps` shows, read back from the domain's metadata."""
        with self.domain() as dom:
            return state_of(dom)

    require_state = state  # a domain's metadata is never "lost" as a run folder can be

    def status(self) -> Any:
        from vmrun.vm import VmStatus

        try:
            with self.domain() as dom:
                code = dom.state()[0]
                state = state_of(dom)
        except (ProfileError, StateError, EngineError) as e:
            return VmStatus(self.name, None, "unreachable", None, None, e.message, engine=self.engine, host=self.host)
        return VmStatus(self.name, None, STATES.get(code, "unknown"), None, state, None, engine=self.engine, host=self.host)

    def down(self, *, timeout: float = 60.0, force: bool = False, progress: Callable[[str], None] = lambda _: None) -> str:
        """ACPI shutdown (pressed again while the guest boots), then destroy after ``timeout``."""
        libvirt = lv.quiet_libvirt()
        with self.domain() as dom:
            if not dom.isActive():
                return "was not running"
            persistent = dom.isPersistent()
            how = "destroyed"
            if not force:
                progress(f"waiting up to {timeout:.0f} s for the guest to power off")
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    try:
                        dom.shutdown()
                    except libvirt.libvirtError:
                        pass  # it went meanwhile
                    if _wait_inactive(dom, min(SHUTDOWN_REPEAT, max(0.0, deadline - time.monotonic()))):
                        how = "powered off"
                        break
            if how != "powered off":
                try:
                    dom.destroy()
                except libvirt.libvirtError as e:
                    if dom.isActive():
                        raise EngineError(f"{self.name}: libvirt could not destroy it: {lv.reason(e)}") from None
                how = "did not power off in time; destroyed" if not force else "destroyed"
        return how + (" (still defined: vmrun autostart, or virsh undefine)" if persistent else "")

    @contextmanager
    def qmp(self, timeout: float = 10.0) -> Iterator[Passthrough]:
        with self.domain() as dom:
            yield Passthrough(dom)

    def autostart(self, on: bool) -> None:
        with self.domain() as dom:
            if not dom.isPersistent():
                raise StateError(f"{self.name} is transient: libvirt cannot start it at boot",
                                 hint=f"vmrun down {self.name}, then vmrun up {self.name} --persist")  # fmt: skip
            dom.setAutostart(int(on))


@dataclass
class Migrated:
    vm: LibvirtVm
    seconds: float
    downtime_ms: int | None  # as libvirt measured it on the target, if it could be asked


def migrate(vm: LibvirtVm, to: str, *, live: bool, persist: bool, copy_storage: bool,
            shared_storage: bool = False) -> Migrated:  # fmt: skip
    """Move a running domain to the libvirt at ``to``; forwards added live are added again there.

    The client opens the target itself when it can (then libvirt reports the downtime);
    otherwise the source daemon connects to ``to`` (peer-to-peer), as for a remote host
    only the source can reach.
    """
    libvirt = lv.quiet_libvirt()
    flags = (libvirt.VIR_MIGRATE_LIVE if live else 0) | (libvirt.VIR_MIGRATE_PERSIST_DEST if persist else 0)
    with vm.domain() as dom:
        if not dom.isActive():
            raise StateError(f"{vm.name} is not running on {vm.uri}: nothing to migrate")
        disks = _disk_files(dom)
        if disks and not (copy_storage or shared_storage):
            raise StateError(
                f"{vm.name} has disks ({', '.join(disks)}): the target must see them too",
                hint="--copy-storage copies them over (non-shared-disk migration); --shared-storage if both hosts mount them",
            )
        if copy_storage:
            flags |= libvirt.VIR_MIGRATE_NON_SHARED_DISK
        if dom.isPersistent():
            flags |= libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
        live_forwards = [f for f in (metadata(dom) or {}).get("forwards", []) if f.get("live") == "yes"]
        start = time.monotonic()
        try:
            dconn = lv.open_connection(to)
        except ProfileError:
            dconn = None
        try:
            if dconn is not None:
                new = dom.migrate3(dconn, {}, flags)
            else:
                dom.migrateToURI3(to, {}, flags | libvirt.VIR_MIGRATE_PEER2PEER)
                new = None
            seconds = time.monotonic() - start
            downtime = None
            if new is not None:
                try:
                    downtime = new.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED).get("downtime")
                except libvirt.libvirtError:
                    pass
        except libvirt.libvirtError as e:
            raise EngineError(f"{vm.name}: migration to {to} failed: {lv.reason(e)}; it still runs on {vm.uri}") from None
        finally:
            if dconn is not None:
                dconn.close()
    moved = LibvirtVm(to, vm.name)
    uris.remember(to)
    if live_forwards:
        from vmrun.engines.libvirt import nics

        with moved.domain() as dom:
            for fwd in live_forwards:
                nics.hostfwd(dom, fwd["nic"], fwd["rule"], add=True)
    return Migrated(moved, seconds, downtime)


def _disk_files(dom: Any) -> list[str]:
    import xml.etree.ElementTree as ET

    tree = ET.fromstring(dom.XMLDesc(0))
    return [s.get("file", "?") for d in tree.iter("disk") if d.get("device") == "disk" for s in d.iter("source")]


class Passthrough:
    """``execute()`` like :class:`vmrun.qmp.Qmp`, through libvirt's QEMU monitor passthrough."""

    def __init__(self, dom: Any) -> None:
        self.dom = dom

    def execute(self, command: str, arguments: dict[str, Any] | None = None) -> Any:
        libvirt = lv.quiet_libvirt()
        sent = {"execute": command, **({"arguments": arguments} if arguments else {})}
        try:
            reply = json.loads(lv.monitor(self.dom, json.dumps(sent)))
        except libvirt.libvirtError as e:
            raise QmpError(f"{command}: {lv.reason(e)}", sent=sent) from None
        if "error" in reply:
            raise QmpError(f"{command}: {reply['error'].get('desc')}", sent=sent, received=reply)
        return reply.get("return")


def list_vms(where: list[str]) -> list[LibvirtVm]:
    """vmrun's domains (running or defined) on each URI; a URI that does not answer is said once and skipped."""
    from vmrun import ui

    found = []
    for uri in where:
        try:
            with lv.connect(uri, readonly=True) as conn:
                found += [LibvirtVm(uri, dom.name()) for dom in conn.listAllDomains(0) if metadata(dom) is not None]
        except ProfileError as e:
            ui.notice(e.message)
    return found


def _wait_inactive(dom: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if not dom.isActive():
                return True
        except Exception:
            return True  # a transient domain that powered off is gone
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def state_of(dom: Any) -> RunState:
    import xml.etree.ElementTree as ET

    from vmrun.engines.libvirt.xml import read_metadata

    xml = dom.XMLDesc(0)
    meta = read_metadata(xml) or {}
    _, max_kib, _, vcpus, _ = dom.info()  # the domain's own figures, as `virsh dominfo` shows them
    return RunState(
        name=dom.name(),
        profile=meta.get("profile", ""),
        accel="",
        argv=[],
        started=0.0,
        phase=RUNNING,
        nics=[NicState(n["id"], n.get("type", ""), n.get("model", ""), n.get("mac", ""), hotplugged=n.get("hotplugged") == "yes",
                       phase=n.get("phase", RUNNING)) for n in meta.get("nics", [])],  # fmt: skip
        forwards=[Forward(f["nic"], f["rule"]) for f in meta.get("forwards", [])],
        memory_mib=max_kib // 1024,
        smp=vcpus,
        # `up --snapshot` made every writable disk transient: nothing is written to the images.
        snapshot=any(d.find("transient") is not None for d in ET.fromstring(xml).iter("disk")),
    )


def choose_accel(conn: Any, wanted: Accel) -> Accel:
    """``auto`` follows the target's domain capabilities: KVM only where libvirt offers it."""
    if wanted is not Accel.AUTO:
        return wanted
    try:
        conn.getDomainCapabilities(None, "x86_64", None, "kvm")
        return Accel.KVM
    except lv.quiet_libvirt().libvirtError:
        return Accel.TCG


def emulator(conn: Any, profile: Profile) -> str:
    """The target host's QEMU (from its domain capabilities), unless the profile names a path of its own."""
    if profile.qemu.startswith("/"):
        return profile.qemu
    import xml.etree.ElementTree as ET

    caps = ET.fromstring(conn.getDomainCapabilities(None, "x86_64", None, "qemu"))
    return caps.findtext("path") or profile.qemu


def userspace_ovs(nics: Iterable[Nic], uri: str) -> frozenset[str]:
    """The OVS bridges of ``nics`` on the userspace (netdev) datapath, when libvirt runs on this host
    (its OVS is the one ovs-vsctl reaches here); elsewhere vmrun cannot tell, and assumes the kernel's."""
    if host_of(uri) != "local":
        return frozenset()
    from vmrun.net import ovs

    bridges = {n.bridge for n in nics if n.type is NicType.OVS and n.bridge}
    if not bridges or shutil.which(ovs.VSCTL) is None:
        return frozenset()
    found = set()
    for bridge in bridges:
        try:
            if ovs.datapath(bridge) == "netdev":
                found.add(bridge)
        except HostNetError:
            pass  # not reachable from here: libvirt will say what is wrong with the bridge
    return frozenset(found)


def up(profile: Profile, uri: str, *, persist: bool = False, notice: Callable[[str], None] = lambda _: None,
       options: RunOptions = RunOptions()) -> LibvirtVm:  # fmt: skip
    from vmrun.engines.libvirt.xml import domain_xml

    if profile.cloud_init is not None:
        raise ProfileError("is not carried to libvirt: the seed ISO would have to be on its host", source=profile.source,
                           field="cloud_init", hint="use the qemu engine for a cloud image's first boot")  # fmt: skip
    libvirt = lv.quiet_libvirt()
    profile = run_options(profile, options, persist=persist)
    _disks_here(profile, uri)
    with lv.connect(uri) as conn:
        old = _lookup(conn, profile.name)
        if old is not None and old.isActive():
            raise StateError(f"{profile.name}: already running on {uri}", hint=f"vmrun down {profile.name} -c {uri}")
        made = disks.ensure(profile, notice)  # before libvirt opens them; kept if the rest fails (see vmrun.disks)
        built = domain_xml(profile, accel=choose_accel(conn, profile.accel), emulator=emulator(conn, profile),
                           libvirt_version=conn.getLibVersion(),
                           userspace_ovs=userspace_ovs(profile.nics, uri))  # fmt: skip
        for warning in built.warnings:
            notice(warning)
        try:
            if persist:
                dom = conn.defineXML(built.xml)
                try:
                    dom.create()
                except libvirt.libvirtError:
                    dom.undefine()
                    raise
            else:
                conn.createXML(built.xml, 0)
        except libvirt.libvirtError as e:
            raise LaunchError(f"{profile.name}: libvirt at {uri} refused to start it: {lv.reason(e)}",
                             hint=f"the domain XML is in `vmrun show {profile.name} --libvirt`") from None  # fmt: skip
    uris.remember(uri)
    for m in made:
        notice(f"made disk {m}")
    return LibvirtVm(uri, profile.name)


def run_options(profile: Profile, options: RunOptions, *, persist: bool) -> Profile:
    """`up --snapshot` as libvirt's <transient/> on every writable disk; `up --cdrom` is refused (no boot-once)."""
    if options.boot_cdrom:
        raise ProfileError("--cdrom needs the qemu engine: libvirt has no boot-once",
                           hint="set cdrom = \"ISO\" in the profile (or --set cdrom=ISO): libvirt boots the disk, then the CD-ROM")  # fmt: skip
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
        raise ProfileError(f"vmrun makes disk images only when libvirt runs on this host, not at {uri}",
                           source=profile.source, field=f"drives[{wanted[0]}].{key}",
                           hint="make the image there with qemu-img create, and leave size and backing out")  # fmt: skip
