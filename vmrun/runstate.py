"""What vmrun keeps about a running VM (``state.json``): typed, versioned, read through one parser.

``state.json`` is written before QEMU is started (phase ``starting``, no pid
yet) and completed once it answers (phase ``running``). Anything that is not
what vmrun writes becomes one :class:`RunStateError` naming the file and the
field. A ``state.json`` of vmrun before schema 2 (no ``schema`` key) is read
as such and written back in this format by the next command that edits it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vmrun.errors import RunStateError

FILE = "state.json"
SCHEMA = 2
STARTING, RUNNING = "starting", "running"
ADDING = "adding"  # a NIC whose `nic add` has not finished (or was killed half way)
REMOVING = "removing"  # a NIC (or forward) whose `nic del` (`fwd del`) has begun: what QEMU no longer has, it did


@dataclass
class NicState:
    id: str
    type: str
    model: str
    mac: str
    host: dict[str, Any] = field(default_factory=dict)  # what `ps` shows of its host side
    hotplugged: bool = False
    bus: str | None = None
    phase: str = RUNNING


@dataclass
class UsbState:
    """A host USB device the guest has (``[[usb]]`` or `usb add`): ``what`` is VENDOR:PRODUCT or BUS-PORT."""

    id: str
    what: str
    hotplugged: bool = False
    phase: str = RUNNING  # ADDING or REMOVING: a `usb add` or `usb del` under way (or killed half way)


@dataclass
class Forward:
    nic: str
    rule: str
    phase: str = RUNNING  # ADDING or REMOVING: a `fwd add` or `fwd del` under way (or killed half way)

    def as_json(self) -> dict[str, str]:
        """As state.json and `--json` show it: the phase only while it is not running."""
        return {"nic": self.nic, "rule": self.rule, **({"phase": self.phase} if self.phase != RUNNING else {})}


@dataclass
class SpiceState:
    addr: str
    port: int


@dataclass
class RunState:
    name: str
    profile: str
    accel: str
    argv: list[str]
    started: float
    phase: str = STARTING
    pid: int | None = None
    pid_start: int | None = None
    nics: list[NicState] = field(default_factory=list)
    forwards: list[Forward] = field(default_factory=list)
    spice: SpiceState | None = None
    memory_mib: int | None = None  # what the guest got (after --memory/--smp); None: unknown
    smp: int | None = None
    snapshot: bool = False  # `up --snapshot`: QEMU writes nothing to the disks
    usb: list[UsbState] = field(default_factory=list)
    schema: int = SCHEMA

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "forwards": [f.as_json() for f in self.forwards], "schema": SCHEMA}

    def nic(self, nic_id: str) -> NicState | None:
        return next((n for n in self.nics if n.id == nic_id), None)

    def usb_device(self, usb_id: str) -> UsbState | None:
        return next((u for u in self.usb if u.id == usb_id), None)

    @property
    def device_ids(self) -> list[str]:
        """The QEMU device ids vmrun gave: NICs' and USB devices' (one id space)."""
        return [n.id for n in self.nics] + [u.id for u in self.usb]


class _Reader:
    """Checks each field's type as it takes it, so an error names the field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def take(self, data: Any, key: str, kinds: Any, where: str, default: Any = ...) -> Any:
        if not isinstance(data, dict):
            raise RunStateError(self.path, f"{where or 'the file'}: expected an object, got {type(data).__name__}")
        if key not in data:
            if default is ...:
                raise RunStateError(self.path, f"{where}{key}: missing")
            return default
        value = data[key]
        if isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
            raise RunStateError(self.path, f"{where}{key}: {value!r} is not {_name(kinds)}")
        if not isinstance(value, kinds):
            raise RunStateError(self.path, f"{where}{key}: {value!r:.60} is not {_name(kinds)}")
        return value

    def strings(self, data: Any, key: str, where: str) -> list[str]:
        items = self.take(data, key, list, where)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise RunStateError(self.path, f"{where}{key}[{i}]: {item!r:.60} is not a string")
        return items


def _name(kinds: Any) -> str:
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        list: "a list",
        dict: "an object",
        type(None): "null",
    }
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def parse(data: Any, path: Path) -> RunState:
    """A RunState from the JSON of ``state.json`` (this schema or the one before it)."""
    r = _Reader(path)
    if not isinstance(data, dict):
        raise RunStateError(path, f"expected a JSON object, got {type(data).__name__}")
    schema = r.take(data, "schema", int, "", 1)
    if schema not in (1, SCHEMA):
        raise RunStateError(
            path, f"schema {schema} is not one this vmrun reads ({SCHEMA})", hint="a newer vmrun wrote it: use that one"
        )
    pid = r.take(data, "pid", (int, type(None)), "", None)
    if pid is not None and pid <= 0:
        raise RunStateError(path, f"pid: {pid} is not a process id")
    nics = []
    for i, n in enumerate(r.take(data, "nics", list, "", [])):
        where = f"nics[{i}]."
        nics.append(
            NicState(
                id=r.take(n, "id", str, where),
                type=r.take(n, "type", str, where),
                model=r.take(n, "model", str, where),
                mac=r.take(n, "mac", str, where),
                host=r.take(n, "host", dict, where, {}),
                hotplugged=r.take(n, "hotplugged", bool, where, False),
                bus=r.take(n, "bus", (str, type(None)), where, None),
                phase=r.take(n, "phase", str, where, RUNNING),
            )
        )
    forwards = [
        Forward(
            r.take(f, "nic", str, f"forwards[{i}]."),
            r.take(f, "rule", str, f"forwards[{i}]."),
            r.take(f, "phase", str, f"forwards[{i}].", RUNNING),
        )
        for i, f in enumerate(r.take(data, "forwards", list, "", []))
    ]
    spice = r.take(data, "spice", (dict, type(None)), "", None)
    argv = r.strings(data, "argv", "") if "argv" in data else []
    sizes = _sizes_in(argv)  # a state written before memory and vCPUs were recorded: read from its argv
    return RunState(
        name=r.take(data, "name", str, ""),
        profile=r.take(data, "profile", str, ""),
        accel=r.take(data, "accel", str, "", "tcg"),
        argv=argv,
        started=float(r.take(data, "started", (int, float), "", 0.0)),
        # Before schema 2 the state was written once QEMU ran: there was no "starting".
        phase=r.take(data, "phase", str, "", RUNNING if schema == 1 else STARTING),
        pid=pid,
        pid_start=r.take(data, "pid_start", (int, type(None)), "", None),
        nics=nics,
        forwards=forwards,
        spice=SpiceState(r.take(spice, "addr", str, "spice."), r.take(spice, "port", int, "spice.")) if spice else None,
        memory_mib=r.take(data, "memory_mib", (int, type(None)), "", sizes[0]),
        smp=r.take(data, "smp", (int, type(None)), "", sizes[1]),
        snapshot=r.take(data, "snapshot", bool, "", False),
        usb=_usb(r, data),
        schema=schema,
    )


def _usb(r: _Reader, data: dict[str, Any]) -> list[UsbState]:
    return [
        UsbState(
            r.take(u, "id", str, f"usb[{i}]."),
            r.take(u, "what", str, f"usb[{i}]."),
            r.take(u, "hotplugged", bool, f"usb[{i}].", False),
            r.take(u, "phase", str, f"usb[{i}].", RUNNING),
        )
        for i, u in enumerate(r.take(data, "usb", list, "", []))
    ]


def _sizes_in(argv: list[str]) -> tuple[int | None, int | None]:
    """(MiB, vCPUs) from a QEMU argv's ``-m`` and ``-smp``, each None where absent or not understood."""
    from vmrun.profile.fields import parse_memory

    values = dict(zip(argv, argv[1:]))
    try:
        memory = parse_memory(values["-m"].removeprefix("size=").split(",")[0]) if "-m" in values else None
    except ValueError:
        memory = None
    cpus = values.get("-smp", "").removeprefix("cpus=").split(",")[0]
    return memory, int(cpus) if cpus.isdigit() else None
