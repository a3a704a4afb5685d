"""Host objects vmrun makes for a VM, recorded in the run folder before they are used.

``host-objects.json`` lists them in the order they were made; `vmrun down`,
`vmrun gc` and a failed `up` release them in reverse order, each only if it is
still the object vmrun made (same ifindex, same pid start time, our OVS
external id), so nothing else is ever removed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vmrun import proc
from vmrun.files import replace_file

FILE = "host-objects.json"


class Recorder:
    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / FILE
        self.records: list[dict[str, Any]] = read(run_dir)

    def add(self, record: dict[str, Any]) -> dict[str, Any]:
        self.records.append(record)
        self._save()
        return record

    def discard(self, record: dict[str, Any]) -> None:
        if record in self.records:
            self.records.remove(record)
            self._save()

    def _save(self) -> None:
        replace_file(self.path, json.dumps(self.records, indent=2), mode=0o600)


def read(run_dir: Path) -> list[dict[str, Any]]:
    try:
        return json.loads((run_dir / FILE).read_text())
    except (OSError, ValueError):
        return []


def release(record: dict[str, Any]) -> None:
    """Remove one recorded object if it is still there and still ours."""
    kind = record["kind"]
    if kind == "link":
        from vmrun import netlink

        netlink.delete_link(record["name"], record.get("ifindex"))
    elif kind == "ovs-port":
        from vmrun.net.ovs import delete_port

        delete_port(record["bridge"], record["port"], record["vm"])
    elif kind == "process":
        proc.kill(record["pid"], record.get("start"), 15)
        if not proc.wait_gone(record["pid"], record.get("start"), 5.0):
            proc.kill(record["pid"], record.get("start"))
    else:
        raise ValueError(f"unknown host object kind {kind!r}")


def release_recorded(run_dir: Path, nic_id: str | None = None) -> list[str]:
    """Release, newest first, what was recorded for a run (or for one of its NICs, at `nic del`).

    Each object released is dropped from the record, so that a second try (`vmrun gc`)
    meets only what the first could not remove; returns what could not be released.
    """
    recorder = Recorder(run_dir)
    problems = []
    for record in reversed([r for r in recorder.records if nic_id is None or r.get("nic") == nic_id]):
        try:
            release(record)
            recorder.discard(record)
        except Exception as e:  # keep going: one stuck object must not strand the others
            problems.append(f"{record.get('kind')} {record.get('name') or record.get('port') or record.get('pid')}: {e}")
    return problems
