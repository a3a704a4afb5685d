"""`vmrun migrate`: a running domain moved to another libvirt host."""

from __future__ import annotations

import time
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from vmrun.adapters import libvirt as lv
from vmrun.engines.base import Migrated, Waiting
from vmrun.engines.libvirt import uris
from vmrun.engines.libvirt.uris import host_of
from vmrun.errors import ProfileError, StateError

if TYPE_CHECKING:
    pass

from vmrun.engines.libvirt.dom import metadata

if TYPE_CHECKING:
    from vmrun.engines.libvirt.vm import LibvirtVm


def migrate(
    vm: LibvirtVm,
    to: str,
    *,
    live: bool,
    persist: bool,
    copy_storage: bool,
    shared_storage: bool = False,
    waiting: Waiting = lambda _: nullcontext(),
) -> Migrated:
    """Move a running domain to the libvirt at ``to``; forwards added live are added again there.

    The client opens the target itself when it can (then libvirt reports the downtime);
    otherwise the source daemon connects to ``to`` (peer-to-peer), as for a remote host
    only the source can reach.
    """
    libvirt = lv.quiet_libvirt()
    with vm.domain() as dom:
        flags = _flags(vm, dom, live=live, persist=persist, copy_storage=copy_storage, shared_storage=shared_storage)
        live_forwards = [f for f in (metadata(dom) or {}).get("forwards", []) if f.get("live") == "yes"]
        start = time.monotonic()
        try:
            dconn = lv.open_connection(to)
        except ProfileError:
            dconn = None
        try:
            with (
                waiting(f"migrating {vm.name} from {vm.host} to {host_of(to)}"),
                lv.failing(f"{vm.name}: migration to {to} failed", hint=f"it still runs on {vm.uri}"),
            ):
                if dconn is not None:
                    new = dom.migrate3(dconn, {}, flags)
                else:
                    dom.migrateToURI3(to, {}, flags | libvirt.VIR_MIGRATE_PEER2PEER)
                    new = None
            seconds = time.monotonic() - start
            stats = (
                lv.quietly(lambda: new.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)) if new is not None else None
            )
            downtime = (stats or {}).get("downtime")
        finally:
            if dconn is not None:
                dconn.close()
    moved = type(vm)(to, vm.name)
    uris.remember(to)
    if live_forwards:
        from vmrun.engines.libvirt import nics

        with moved.domain() as dom:
            for fwd in live_forwards:
                nics.hostfwd(dom, fwd["nic"], fwd["rule"], add=True)
    return Migrated(moved, seconds, downtime)


def _flags(vm: LibvirtVm, dom: Any, *, live: bool, persist: bool, copy_storage: bool, shared_storage: bool) -> int:
    """The migration's flags; a domain that does not run, or whose disks the target would not see, is refused."""
    libvirt = lv.quiet_libvirt()
    if not dom.isActive():
        raise StateError(f"{vm.name} is not running on {vm.uri}: nothing to migrate")
    disks = _disk_files(dom)
    if disks and not (copy_storage or shared_storage):
        raise StateError(
            f"{vm.name} has disks ({', '.join(disks)}): the target must see them too",
            hint="--copy-storage copies them over (non-shared-disk migration); --shared-storage if both hosts mount them",
        )
    seed = _seed_file(vm, dom)
    if seed and not shared_storage:  # a CD-ROM: --copy-storage does not copy it
        raise StateError(
            f"{vm.name} has its cloud-init seed on this host ({seed}): the target would not see it",
            hint="--shared-storage if the target sees that folder too; else down it and up it there",
        )
    flags = (libvirt.VIR_MIGRATE_LIVE if live else 0) | (libvirt.VIR_MIGRATE_PERSIST_DEST if persist else 0)
    if copy_storage:
        flags |= libvirt.VIR_MIGRATE_NON_SHARED_DISK
    if dom.isPersistent():
        flags |= libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
    return flags


def _disk_files(dom: Any) -> list[str]:
    import xml.etree.ElementTree as ET

    tree = ET.fromstring(dom.XMLDesc(0))
    return [s.get("file", "?") for d in tree.iter("disk") if d.get("device") == "disk" for s in d.iter("source")]


def _seed_file(vm: LibvirtVm, dom: Any) -> str | None:
    """The seed `up` attached (:mod:`.seed`), if the domain has it."""
    import xml.etree.ElementTree as ET

    from vmrun.engines.libvirt.seed import seed_path

    path = seed_path(vm.name) if vm.host == "local" else None
    if path is None:
        return None
    files = {s.get("file") for d in ET.fromstring(dom.XMLDesc(0)).iter("disk") for s in d.iter("source")}
    return str(path) if str(path) in files else None
