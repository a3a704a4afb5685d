"""The PCI devices a snapshot was saved with, kept beside the run state by tag, against the running VM's.

QEMU finds each device's saved state by its PCI path (the slots from the root bus
down), so a snapshot loads only into a VM with a device of the same kind at every
path it saved. A NIC unplugged since, or plugged back into another slot, fails
the load half way ("Error -22 while loading VM state"), after QEMU reverted the
disks and began overwriting the guest's RAM; a NIC plugged in since loads, but
the guest put back never saw it. So `snapshot load` compares first and refuses,
naming each NIC with the `vmrun nic` command that makes the VM match. It does not
plug NICs back itself: a NIC must come back in the slot it had, and its host side
(bridge, macvtap parent...) may be gone; `vmrun nic add` takes the first free slot,
which after the `nic del` it names is the one it had.

The record (``snapshots.json`` in the run folder) goes with the run: a snapshot
saved by an earlier run of the VM has none. Each entry carries the snapshot's id
and date, so it never speaks for another snapshot of the same tag.
"""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass
from typing import Any

from vmrun.adapters.qmp import Qmp
from vmrun.errors import RunStateError

FILE = "snapshots.json"
NIC_OPTIONS = {
    "bridge": ("--bridge", "bridge"),
    "macvtap": ("--macvtap", "parent"),
    "ovs": ("--ovs", "bridge"),
    "network": ("--network", "network"),
    "user": ("--user", None),
    "passt": ("--passt", None),
}


@dataclass(frozen=True)
class Device:
    path: str  # "00:05.0", "00:1c.0/00.0": root bus and slots down to the device
    kind: str  # PCI vendor:device
    id: str  # its qdev id (a NIC's is the NIC's id), "" if none


def devices(q: Qmp) -> dict[str, Device]:
    """The VM's PCI devices by path, as QEMU's query-pci shows them (behind bridges too)."""
    found: dict[str, Device] = {}

    def walk(devs: list[dict[str, Any]], parent: str) -> None:
        for d in devs:
            path = f"{parent}{d['slot']:02x}.{d['function']:x}"
            ids = d.get("id", {})
            found[path] = Device(path, f"{ids.get('vendor', 0):04x}:{ids.get('device', 0):04x}", d.get("qdev_id", ""))
            walk(d.get("pci_bridge", {}).get("devices", []), f"{path}/")

    for bus in q.execute("query-pci"):
        walk(bus.get("devices", []), f"{bus.get('bus', 0):02x}:")
    return found


def _identity(snapshot: dict[str, Any]) -> list[Any]:
    """What tells one snapshot from another of the same tag: QEMU's id and its date."""
    return [str(snapshot.get("id", "")), snapshot.get("date-sec", 0), snapshot.get("date-nsec", 0)]


def record(run: Any, tag: str, snapshot: dict[str, Any], found: dict[str, Device], state: Any) -> None:
    """Keep what ``tag`` was saved with: its devices, and the NICs (with forwards) to name in a hint."""
    entries = _read(run)
    nics = [asdict(n) for n in state.nics] if state is not None else []
    for nic in nics:
        nic["forwards"] = [f.rule for f in state.forwards if f.nic == nic["id"]]
    entries[tag] = {"snapshot": _identity(snapshot), "devices": [asdict(d) for d in found.values()], "nics": nics}
    run.write_json(FILE, entries)


def forget(run: Any, tag: str) -> None:
    entries = _read(run)
    if entries.pop(tag, None) is not None:
        run.write_json(FILE, entries)


def _read(run: Any) -> dict[str, Any]:
    data = run.read_json(FILE)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RunStateError(run.path / FILE, "not what vmrun writes (expected an object)", hint=_REMOVE)
    return data


_REMOVE = "remove it: `vmrun snapshot load` then loads without comparing devices"


def saved_with(run: Any, tag: str, snapshot: dict[str, Any]) -> tuple[dict[str, Device], list[dict[str, Any]]] | None:
    """(devices, NICs) ``tag`` was saved with, or None if this run of the VM did not save it."""
    entry = _read(run).get(tag)
    if entry is None:
        return None
    try:
        if entry["snapshot"] != _identity(snapshot):
            return None  # another snapshot of that tag (deleted and saved again behind vmrun's back)
        found = {d["path"]: Device(str(d["path"]), str(d["kind"]), str(d["id"])) for d in entry["devices"]}
        nics = [n for n in entry["nics"] if isinstance(n, dict) and isinstance(n["id"], str)]
    except (KeyError, TypeError) as e:
        raise RunStateError(run.path / FILE, f"{tag}: not what vmrun writes ({e!r})", hint=_REMOVE) from None
    return found, nics


def differences(
    name: str,
    tag: str,
    saved: dict[str, Device],
    saved_nics: list[dict[str, Any]],
    now: dict[str, Device],
    now_nics: list[str],
) -> tuple[list[str], list[str]]:
    """(what differs, the commands that make the VM match), NICs by id and the rest by PCI path."""
    problems: list[str] = []
    dels: list[str] = []
    adds: list[str] = []
    nic_ids = {n["id"] for n in saved_nics} | set(now_nics)
    saved_by_id = {d.id: d for d in saved.values() if d.id in nic_ids}
    now_by_id = {d.id: d for d in now.values() if d.id in nic_ids}
    nics = {n["id"]: n for n in saved_nics}
    for nic_id in sorted(nic_ids):
        was, is_ = saved_by_id.get(nic_id), now_by_id.get(nic_id)
        if was == is_:
            continue
        if is_ is None:
            problems.append(f"NIC {nic_id} (at {was.path}) is no longer plugged in")  # type: ignore[union-attr]
        elif was is None:
            problems.append(f"NIC {nic_id} was plugged in after {tag} was saved")
        else:
            problems.append(
                f"NIC {nic_id} is at {is_.path} ({is_.kind}), not at {was.path} ({was.kind}) as at the save"
            )
        if is_ is not None:
            dels.append(f"vmrun nic del {name} {nic_id}")
        if was is not None:
            adds.append(add_command(name, nics.get(nic_id, {"id": nic_id})))
    others_saved = {(d.path, d.kind) for d in saved.values() if d.id not in nic_ids}
    others_now = {(d.path, d.kind) for d in now.values() if d.id not in nic_ids}
    for path, kind in sorted(others_saved - others_now):
        problems.append(f"PCI device {kind} at {path} is gone")
    for path, kind in sorted(others_now - others_saved):
        problems.append(f"PCI device {kind} at {path} was added after {tag} was saved")
    return problems, dels + adds


def add_command(name: str, nic: dict[str, Any]) -> str:
    """The `vmrun nic add` that plugs a NIC back as it was recorded (kind, host side, model, MAC, forwards)."""
    option, key = NIC_OPTIONS.get(nic.get("type", ""), (None, None))
    host = nic.get("host", {})
    if option is None:
        return f"vmrun nic add {name} --id {shlex.quote(nic['id'])} ... (a {nic.get('type', 'NIC')} NIC as it was)"
    argv = ["vmrun", "nic", "add", name, option] + ([str(host.get(key, "?"))] if key else [])
    if nic.get("type") == "macvtap" and host.get("mode"):
        argv += ["--mode", str(host["mode"])]
    if nic.get("type") == "ovs" and host.get("vlan") is not None:
        argv += ["--vlan", str(host["vlan"])]
    for rule in nic.get("forwards", []):
        argv += ["--hostfwd", rule]
    argv += ["--id", nic["id"]]
    if nic.get("model") and nic["model"] != "virtio-net-pci":
        argv += ["--model", nic["model"]]
    if nic.get("mac"):
        argv += ["--mac", nic["mac"]]
    return shlex.join(argv)
