"""Host objects vmrun makes for a VM, recorded in the run folder before they are used.

``host-objects.json`` (``{"schema": 2, "objects": [...]}``) lists them in the
order they were made; `vmrun down`, `vmrun gc`, `nic del` and a failed `up`
release them newest first. Each kind is a class that knows how to release
itself and does so only while the object is provably the one vmrun made:

- :class:`Link` (a tap or macvtap): same name, same ifindex, same kind of link (a record
  of vmrun before schema 2 names no kind: then a tap or a macvtap, never another kind);
- :class:`OvsPort`: the port's ``external-ids:vmrun-vm`` names this VM;
- :class:`Process` (passt): same pid, same start time, run by us, started with
  a path in this VM's run folder;
- :class:`Swtpm` (the VM's TPM): recorded before it is started, so its pid may not be
  known; either way run by us, started with its control socket in this VM's run folder
  (and, once known, same pid and start time).
- :class:`Virtiofsd` (a ``[[shares]]`` folder): as :class:`Swtpm`, keyed by its vhost-user socket
  in this VM's run folder.

Records are written only under the VM's lock (see :mod:`vmrun.engines.qemu.vm`). A record
vmrun cannot read (an unknown kind, a missing field) is never acted on: it is
dropped with a notice, so that it cannot block `down` or `gc` for good.
"""

from __future__ import annotations

import os
from dataclasses import MISSING, asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from vmrun import proc
from vmrun.errors import RunStateError

FILE = "host-objects.json"
C_PIDFILE_DIR = "/run/virtiofsd"
SCHEMA = 2


@dataclass(frozen=True)
class Link:
    kind: ClassVar[str] = "link"
    name: str
    ifindex: int
    link_kind: str | None = None  # "tap" or "macvtap"; None in records of vmrun before schema 2
    nic: str | None = None

    def __str__(self) -> str:
        return f"link {self.name}"

    def release(self, run_dir: Path) -> None:
        from vmrun.adapters import netlink

        kinds = [self.link_kind] if self.link_kind else list(_SYSFS_MARK)  # no kind recorded: one vmrun makes
        if not any(Path(f"/sys/class/net/{self.name}/{_SYSFS_MARK[k]}").exists() for k in kinds):
            return  # gone, or another kind of link now has the name: not ours
        netlink.delete_link(self.name, self.ifindex)


_SYSFS_MARK = {"tap": "tun_flags", "macvtap": "macvtap"}


@dataclass(frozen=True)
class OvsPort:
    kind: ClassVar[str] = "ovs-port"
    bridge: str
    port: str
    vm: str
    nic: str | None = None

    def __str__(self) -> str:
        return f"OVS port {self.port}"

    def release(self, run_dir: Path) -> None:
        from vmrun.adapters.ovs import delete_port

        delete_port(self.bridge, self.port, self.vm)


@dataclass(frozen=True)
class Process:
    kind: ClassVar[str] = "process"
    pid: int
    start: int | None
    what: str
    arg: str | None = None  # the option that names a path in the run folder (``--socket``)
    path: str | None = None  # ... and that path
    nic: str | None = None

    def __str__(self) -> str:
        return f"{self.what} (pid {self.pid})"

    def is_ours(self, run_dir: Path) -> bool:
        if self.arg and self.path:
            return proc.ours(self.pid, self.start, (self.arg, self.path))
        # A record from before schema 2: any argument in this VM's run folder will do.
        return (
            proc.alive(self.pid, self.start)
            and proc.owner(self.pid) == os.geteuid()
            and any(a.startswith(f"{run_dir}/") for a in proc.cmdline(self.pid))
        )

    def release(self, run_dir: Path) -> None:
        if self.is_ours(run_dir):
            _stop(self.pid, self.start)


def _stop(pid: int, start: int | None) -> None:
    proc.kill(pid, start, 15)
    if not proc.wait_gone(pid, start, 5.0):
        proc.kill(pid, start)
        proc.wait_gone(pid, start, 5.0)


@dataclass(frozen=True)
class Swtpm:
    """The VM's swtpm. Its control socket says which one it is (one per run folder): records that
    differ only in pid and start time are the same record (written before, then after, the start)."""

    kind: ClassVar[str] = "swtpm"
    ctrl: str  # its control socket, in the run folder: ``--ctrl type=unixio,path=CTRL``
    pid: int | None = field(default=None, compare=False)  # None: a vmrun killed before it could write it
    start: int | None = field(default=None, compare=False)
    nic: ClassVar[None] = None

    def __str__(self) -> str:
        return f"swtpm (pid {self.pid})" if self.pid else f"swtpm ({self.ctrl})"

    @property
    def marker(self) -> tuple[str, str]:
        return ("--ctrl", f"type=unixio,path={self.ctrl}")

    def release(self, run_dir: Path) -> None:
        if Path(self.ctrl).parent != run_dir:
            return  # a record naming another folder: not one vmrun wrote for this VM
        if self.pid is not None:
            proc.reap(self.pid)  # exited when QEMU closed its socket: our child, if we started it in this process
            if proc.ours(self.pid, self.start, self.marker):
                _stop(self.pid, self.start)
        elif (pid := proc.find(self.marker)) is not None:
            _stop(pid, proc.start_time(pid))


@dataclass(frozen=True)
class Virtiofsd:
    """One share's virtiofsd, recorded (like :class:`Swtpm`) before it starts, then with its pid."""

    kind: ClassVar[str] = "virtiofsd"
    socket: str  # its vhost-user socket, in the run folder: ``--socket-path=SOCKET``
    pid: int | None = field(default=None, compare=False)
    start: int | None = field(default=None, compare=False)
    nic: ClassVar[None] = None

    def __str__(self) -> str:
        return f"virtiofsd (pid {self.pid})" if self.pid else f"virtiofsd ({self.socket})"

    @property
    def marker(self) -> tuple[str]:
        return (f"--socket-path={self.socket}",)  # one argument: QEMU 7.2's virtiofsd takes no other form

    def release(self, run_dir: Path) -> None:
        if Path(self.socket).parent != run_dir:
            return  # a record naming another folder: not one vmrun wrote for this VM
        if self.pid is not None:
            proc.reap(self.pid)
            if proc.ours(self.pid, self.start, self.marker):
                _stop(self.pid, self.start)
        # Not started by us in this process, or its pid never recorded: whatever still runs with its socket.
        # (QEMU's C virtiofsd forks once into its own pid namespace; the child dies with the parent.)
        for _ in range(3):  # bounded: one that cannot be killed must not hang `down`
            if (pid := proc.find(self.marker)) is None:
                break
            _stop(pid, proc.start_time(pid))
        else:
            return
        # QEMU's C virtiofsd locks its socket with a pid file it never removes (its path, "/" made ".").
        Path(C_PIDFILE_DIR, self.socket.replace("/", ".") + ".pid").unlink(missing_ok=True)


HostObject = Link | OvsPort | Process | Swtpm | Virtiofsd
_KINDS: dict[str, type] = {
    "link": Link,
    "ovs-port": OvsPort,
    "process": Process,
    "swtpm": Swtpm,
    "virtiofsd": Virtiofsd,
}
_FIELD_TYPES = {
    "name": str,
    "ifindex": int,
    "link_kind": (str, type(None)),
    "nic": (str, type(None)),
    "bridge": str,
    "port": str,
    "vm": str,
    "start": (int, type(None)),
    "what": str,
    "arg": (str, type(None)),
    "path": (str, type(None)),
    "ctrl": str,
    "socket": str,
    "pid": (int, type(None)),
}


def to_json(obj: HostObject) -> dict[str, Any]:
    return {"kind": obj.kind, **{k: v for k, v in asdict(obj).items() if v is not None}}


def from_json(item: Any) -> HostObject | str:
    """A record as the class of its kind, or why it is not one vmrun can act on."""
    if not isinstance(item, dict):
        return f"not a record: {item!r:.60}"
    cls = _KINDS.get(item.get("kind"))  # type: ignore[arg-type]
    if cls is None:
        return f"unknown kind {item.get('kind')!r:.40}"
    fields = {k: v for k, v in item.items() if k != "kind"}
    names = set(cls.__dataclass_fields__)
    for key, value in fields.items():
        if key not in names:
            return f"{cls.kind} record with unknown field {key!r:.40}"
        if isinstance(value, bool) or not isinstance(value, _FIELD_TYPES[key]):
            return f"{cls.kind} record: {key} is {value!r:.40}"
    if cls is Process and fields.get("pid", 0) is None:
        return "process record without a pid"
    if cls is Link and fields.get("link_kind") not in (None, *_SYSFS_MARK):
        return f"link record: link_kind is {fields['link_kind']!r:.40}, not a kind of link vmrun makes"
    try:
        return cls(**fields)
    except TypeError:
        missing = sorted(k for k, f in cls.__dataclass_fields__.items() if k not in fields and f.default is MISSING)
        return f"{cls.kind} record without {', '.join(missing) or 'its fields'}"


def parse(data: Any, path: Path) -> tuple[list[HostObject], list[str]]:
    """The records of a ``host-objects.json`` (schema 2, or the bare list of earlier vmrun),
    and a notice for each record left alone. A file that is not a record list at all raises."""
    if data is None:
        return [], []
    if isinstance(data, dict) and data.get("schema") == SCHEMA and isinstance(data.get("objects"), list):
        items = data["objects"]
    elif isinstance(data, list):
        items = data
    else:
        raise RunStateError(
            path,
            f"not a list of host objects (schema {SCHEMA}) but {type(data).__name__}",
            hint="vmrun leaves what it cannot read alone",
        )
    objects, skipped = [], []
    for i, item in enumerate(items):
        obj = from_json(item)
        if isinstance(obj, str):
            skipped.append(f"{path}: objects[{i}]: {obj}; not acted on")
        else:
            objects.append(obj)
    return objects, skipped


class Recorder:
    """The record of one VM's host objects; every change is written at once (under the VM's lock)."""

    def __init__(self, run: Any, objects: list[HostObject] | None = None) -> None:
        self.run = run
        self.objects: list[HostObject] = list(objects) if objects is not None else load(run)[0]

    def add(self, obj: HostObject) -> HostObject:
        self.objects.append(obj)
        self.save()
        return obj

    def replace(self, old: HostObject, new: HostObject) -> None:
        """``new`` in ``old``'s place, in one write."""
        self.objects[self.objects.index(old)] = new
        self.save()

    def discard(self, obj: HostObject) -> None:
        if obj in self.objects:
            self.objects.remove(obj)
            self.save()

    def save(self) -> None:
        self.run.write_json(FILE, {"schema": SCHEMA, "objects": [to_json(o) for o in self.objects]})


def load(run: Any) -> tuple[list[HostObject], list[str]]:
    return parse(run.read_json(FILE), run.path / FILE)


def release_recorded(run: Any, nic_id: str | None = None) -> tuple[list[str], list[str]]:
    """Release, newest first, what was recorded for a run (or for one of its NICs, at `nic del`).

    Each object released is dropped from the record, so that a second try (`vmrun gc`)
    meets only what the first could not remove. Returns (what could not be released,
    notices about records left alone).
    """
    objects, skipped = load(run)
    recorder = Recorder(run, objects)
    problems = []
    for obj in reversed([o for o in objects if nic_id is None or o.nic == nic_id]):
        try:
            obj.release(run.path)
            recorder.discard(obj)
        except Exception as e:  # keep going: one stuck object must not strand the others
            problems.append(f"{obj}: {e}")
    return problems, skipped
