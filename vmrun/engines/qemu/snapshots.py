"""Internal snapshots of a running guest over QMP: QEMU's snapshot-save/-load/-delete jobs.

A snapshot holds every writable disk's state and the guest's RAM and devices (the
"vmstate", written into one qcow2 disk), as HMP's savevm does. Raw images cannot
hold internal snapshots, so every writable disk is checked before a job starts
and a raw one is named. The job runs in QEMU's main loop: the guest is paused
and QMP does not answer until it is over, so each step of a job waits up to
JOB_TIMEOUT (connecting and the other questions keep the usual deadline: a frozen
QEMU is still said at once). The VM's lock is held throughout, so `ps` says "busy"
then, not "not responding". The snapshots listed are what QEMU reads from the images (query-block's
``inserted.image.snapshots``), as `qemu-img snapshot -l` prints them. A load is refused
before anything changes if the VM's PCI devices are not those the save recorded
(vmrun.engines.qemu.snapdevices); should QEMU fail one anyway, the guest is never left paused.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vmrun.adapters.qmp import Qmp
from vmrun.engines.base import Snapshot, Waiting
from vmrun.engines.common import SNAPSHOT_FORMATS
from vmrun.engines.qemu import snapdevices
from vmrun.errors import QmpError, RunStateError, StateError

if TYPE_CHECKING:
    from vmrun.engines.qemu.vm import Vm

JOB_TIMEOUT = 600.0
POLL = 0.1


@dataclass(frozen=True)
class Disk:
    device: str  # the drive's name in QEMU (virtio0, ide0-hd0) or its qdev id
    node: str  # the top block node, what the jobs name
    format: str
    file: str
    snapshots: tuple[dict[str, Any], ...]

    def has(self, tag: str) -> dict[str, Any] | None:
        return next((s for s in self.snapshots if s.get("name") == tag), None)


def writable_disks(q: Qmp) -> list[Disk]:
    """The guest's writable disks with an image in them (CD-ROMs and read-only drives hold no snapshot)."""
    disks = []
    for entry in q.execute("query-block"):
        inserted = entry.get("inserted")
        if not inserted or inserted.get("ro"):
            continue
        image = inserted.get("image", {})
        disks.append(
            Disk(
                device=entry.get("device") or entry.get("qdev", "?"),
                node=inserted.get("node-name", ""),
                format=inserted.get("drv", image.get("format", "?")),
                file=inserted.get("file", "?"),
                snapshots=tuple(image.get("snapshots", [])),
            )
        )
    return disks


def _usable(name: str, disks: list[Disk], vmstate: str | None) -> tuple[Disk, list[Disk]]:
    """(the disk for the vmstate, all writable disks), refusing what cannot hold an internal snapshot."""
    if not disks:
        raise StateError(
            f"{name} has no writable disk to hold a snapshot",
            hint='give it a qcow2 drive: [[drives]] file = "disk.qcow2", size = "1G"',
        )
    for d in disks:
        if d.format not in SNAPSHOT_FORMATS:
            raise StateError(
                f"{name}: drive {d.device} ({d.file}) is {d.format}, which cannot hold internal snapshots",
                hint=f"convert it (qemu-img convert -O qcow2 {d.file} new.qcow2), "
                "or mark it readonly or snapshot in the profile",
            )
    if vmstate is None:
        return disks[0], disks
    chosen = next((d for d in disks if vmstate in (d.device, d.node)), None)
    if chosen is None:
        raise StateError(f"{name}: no writable disk {vmstate!r}", hint=f"one of: {', '.join(d.device for d in disks)}")
    return chosen, disks


def _job(q: Qmp, command: str, arguments: dict[str, Any], what: str) -> None:
    """Start a job, poll query-jobs until it concludes, dismiss it; its error becomes one QmpError line."""
    job_id = f"vmrun-{command}-{os.getpid()}"
    q.execute(command, {"job-id": job_id, **arguments}, timeout=JOB_TIMEOUT)
    deadline = time.monotonic() + JOB_TIMEOUT
    while True:
        job = next((j for j in q.execute("query-jobs", timeout=JOB_TIMEOUT) if j.get("id") == job_id), None)
        if job is None:
            raise QmpError(f"{what}: the job {job_id} vanished before it concluded")
        if job.get("status") == "concluded":
            q.execute("job-dismiss", {"id": job_id}, timeout=JOB_TIMEOUT)
            if job.get("error"):
                raise QmpError(
                    f"{what}: {job['error']}", sent={"execute": command, "arguments": arguments}, received=job
                )
            return
        if time.monotonic() >= deadline:
            raise QmpError(f"{what}: not done after {JOB_TIMEOUT:.0f} s (job {job_id} still {job.get('status')})")
        time.sleep(POLL)


def _state(vm: Vm) -> Any | None:
    try:
        return vm.state()
    except RunStateError:
        return None  # a lost state does not hide a live QEMU: qemu_pid finds it by its pid file


def _require_qemu(vm: Vm) -> None:
    """A VM whose QEMU runs: once it is down, or its guest powered off, there is no QMP to ask."""
    if not vm.run.exists():
        raise StateError(f"{vm.name}: not running", hint="vmrun ps lists the VMs vmrun knows")
    if vm.qemu_pid(_state(vm)) is None:
        raise StateError(f"{vm.name}: not running (its QEMU has exited)", hint="vmrun gc cleans up after it")


@contextmanager
def _locked_qmp(vm: Vm, purpose: str) -> Iterator[Qmp]:
    """The VM's lock, then QMP to its QEMU (checked to run first, under the lock)."""
    with vm.locked(purpose):
        _require_qemu(vm)
        with vm.qmp() as q:
            yield q


def save(vm: Vm, tag: str, *, vmstate: str | None = None, waiting: Waiting = lambda _: nullcontext()) -> Snapshot:
    with _locked_qmp(vm, "snapshot save") as q:
        target, disks = _usable(vm.name, writable_disks(q), vmstate)
        if any(d.has(tag) for d in disks):
            raise StateError(f"{vm.name} already has a snapshot {tag!r}", hint=f"vmrun snapshot delete {vm.name} {tag}")
        args = {"tag": tag, "vmstate": target.node, "devices": [d.node for d in disks]}
        devices = snapdevices.devices(q)  # what the snapshot will need to find at a load
        with waiting(f"saving snapshot {tag} of {vm.name}"):
            _job(q, "snapshot-save", args, f"{vm.name}: snapshot {tag} not saved")
        after = writable_disks(q)
        holder = next((d.has(tag) for d in after if d.node == target.node), None)
        if holder is not None:
            snapdevices.record(vm.run, tag, holder, devices, _state(vm))
        found = {s.tag: s for s in _gather(after)}
    return found[tag]


def load(vm: Vm, tag: str, *, waiting: Waiting = lambda _: nullcontext()) -> None:
    with _locked_qmp(vm, "snapshot load") as q:
        disks = writable_disks(q)
        _, disks = _usable(vm.name, disks, None)
        # The vmstate is where the save put it: the disk whose copy of the tag carries it.
        holder = next((d for d in disks if (s := d.has(tag)) and s.get("vm-state-size", 0) > 0), None)
        if holder is None:
            raise StateError(
                f"{vm.name} has no snapshot {tag!r} with the guest's state in it", hint=f"vmrun snapshot list {vm.name}"
            )
        _same_devices(vm, q, tag, holder.has(tag))  # type: ignore[arg-type]
        args = {"tag": tag, "vmstate": holder.node, "devices": [d.node for d in disks]}
        with waiting(f"loading snapshot {tag} into {vm.name}"):
            try:
                _job(q, "snapshot-load", args, f"{vm.name}: snapshot {tag} not loaded")
            except QmpError as e:
                raise _resumed(q, vm.name, e, _reboot_action(_state(vm))) from None


def _same_devices(vm: Vm, q: Qmp, tag: str, snapshot: dict[str, Any]) -> None:
    """Refuse, before anything changes, a load into other PCI devices than the save had (see vmrun.engines.qemu.snapdevices)."""
    from vmrun import ui

    saved = snapdevices.saved_with(vm.run, tag, snapshot)
    if saved is None:
        ui.notice(f"{tag} was not saved by this run of {vm.name}: its devices cannot be compared with the VM's")
        return
    state = _state(vm)
    now_nics = [n.id for n in state.nics] if state is not None else []
    problems, fixes = snapdevices.differences(vm.name, tag, *saved, snapdevices.devices(q), now_nics)
    if problems:
        raise StateError(
            f"{vm.name}: snapshot {tag} not loaded, it was saved with other devices: {'; '.join(problems)}",
            hint=f"first {'; '.join(fixes)}"
            if fixes
            else "a snapshot loads only into the PCI devices it was saved with",
        )


def _resumed(q: Qmp, name: str, error: QmpError, reboot: str) -> QmpError:
    """After a failed load QEMU leaves the guest paused (restore-vm): never leave it so.

    A failure once QEMU began reading the saved state ("Error N while loading VM state") comes
    after the disks went back to the snapshot and the guest was reset and partly overwritten:
    that guest cannot run on, so it is reset again and boots from the snapshot's disks. Under
    -no-reboot QEMU's reset would power it off, and so would the BIOS's own reboot that follows a
    reset: the reboot action becomes "reset" for the rest of the run, and the message says so. An
    earlier failure (the snapshot's checks) left the guest as it was: it goes on running.
    """
    overwritten = "while loading VM state" in error.message
    try:
        if q.execute("query-status").get("running"):
            return error
        if overwritten:
            if reboot != "reset":
                q.execute("set-action", {"reboot": "reset"})
            q.execute("system_reset")
        q.execute("cont")
    except QmpError as e:
        return QmpError(f"{error.message}; and the guest could not be resumed: {e.message}", hint=f"vmrun down {name}")
    if overwritten:
        kept = "" if reboot == "reset" else " (and a reboot now resets it: -no-reboot no longer holds for this run)"
        return QmpError(
            f"{error.message}; the guest's memory was partly overwritten, so vmrun reset it: "
            f"it boots again from the snapshot's disks{kept}",
            sent=error.sent,
            received=error.received,
        )
    return QmpError(f"{error.message}; the guest runs on as it was", sent=error.sent, received=error.received)


def _reboot_action(state: Any) -> str:
    """What QEMU does when the guest reboots, as the VM was started: "shutdown" under -no-reboot."""
    argv = state.argv if state is not None else []
    actions = [value for option, value in zip(argv, argv[1:]) if option == "-action"]
    if "-no-reboot" in argv or any("reboot=shutdown" in a.split(",") for a in actions):
        return "shutdown"
    return "reset"


def delete(vm: Vm, tag: str, *, waiting: Waiting = lambda _: nullcontext()) -> None:
    with _locked_qmp(vm, "snapshot delete") as q:
        holders = [d for d in writable_disks(q) if d.has(tag)]
        if not holders:
            raise StateError(f"{vm.name} has no snapshot {tag!r}", hint=f"vmrun snapshot list {vm.name}")
        with waiting(f"deleting snapshot {tag} of {vm.name}"):
            _job(
                q,
                "snapshot-delete",
                {"tag": tag, "devices": [d.node for d in holders]},
                f"{vm.name}: snapshot {tag} not deleted",
            )
        snapdevices.forget(vm.run, tag)


def listing(vm: Vm) -> list[Snapshot]:
    _require_qemu(vm)
    with vm.qmp() as q:
        return _gather(writable_disks(q))


def _gather(disks: list[Disk]) -> list[Snapshot]:
    """One entry per tag, across the disks that hold it, oldest first."""
    by_tag: dict[str, Snapshot] = {}
    for d in disks:
        for s in d.snapshots:
            tag = s.get("name", "")
            snap = by_tag.setdefault(
                tag,
                Snapshot(
                    tag,
                    str(s.get("id", "")),
                    s.get("date-sec", 0) + s.get("date-nsec", 0) / 1e9,
                    0,
                    s.get("vm-clock-sec", 0) + s.get("vm-clock-nsec", 0) / 1e9,
                ),
            )
            snap.vm_state_size = max(snap.vm_state_size or 0, int(s.get("vm-state-size", 0)))
            snap.disks.append(d.device)
    return sorted(by_tag.values(), key=lambda s: s.date)


def render(snaps: list[Snapshot]) -> str:
    """A table like `qemu-img snapshot -l`: tag, date, vm-state size, the guest's clock, the disks."""
    from vmrun import ui

    rows = [
        [
            s.tag,
            s.id,
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(s.date)),
            size(s.vm_state_size),
            _clock(s.vm_clock),
            ", ".join(s.disks) or "-",
        ]
        for s in snaps
    ]
    return ui.table(["TAG", "ID", "DATE", "VM SIZE", "VM CLOCK", "DISKS"], rows)


def size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= factor:
            return f"{n / factor:.3g} {unit}"
    return f"{n} B"


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    return f"{s // 3600:04d}:{s % 3600 // 60:02d}:{s % 60:02d}.{int((seconds - s) * 1000):03d}"
