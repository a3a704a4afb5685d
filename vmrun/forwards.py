"""`vmrun fwd add/del/list`: port forwards on a running VM's user NIC, over QMP.

QEMU has no QMP command for slirp forwards, so these go through
human-monitor-command (``hostfwd_add``/``hostfwd_remove``), which answers with
text: empty on success, the reason otherwise.
"""

from __future__ import annotations

from typing import Any

from vmrun.control import running
from vmrun.errors import ProfileError, QmpError, StateError
from vmrun.preflight import check_port_free
from vmrun.profile.fields import parse_hostfwd
from vmrun.profile.model import HostFwd
from vmrun.qmp import Qmp


def _user_nic(name: str, state: dict[str, Any], nic_id: str | None) -> str:
    users = [n["id"] for n in state.get("nics", []) if n["type"] == "user"]
    if nic_id is not None:
        if nic_id not in users:
            raise StateError(f"{name}: {nic_id!r} is not a user-network NIC", hint=f"its user NICs: {', '.join(users) or 'none'}")
        return nic_id
    if not users:
        raise StateError(f"{name}: no user-network NIC to forward through", hint=f"vmrun nic add {name} --user")
    return users[0]


def _parse(rule: str) -> HostFwd:
    if "-" not in rule:
        rule += "-:1"  # `fwd del` may name only the host side; the guest side does not matter there
    try:
        return parse_hostfwd(rule)
    except ValueError as e:
        raise ProfileError(str(e), field="RULE") from None


def _hmp(q: Qmp, line: str, *, success: str = "") -> None:
    """Run a monitor command whose only answer is text: ``success`` is how its good answer ends."""
    answer = (q.execute("human-monitor-command", {"command-line": line}) or "").strip()
    if answer != success and not (success and answer.endswith(success)):
        raise QmpError(f"{line}: {answer}", sent=line, received=answer)


def add(name: str, rule: str, nic_id: str | None = None) -> dict[str, str]:
    run, state = running(name)
    fwd = _parse(rule)
    with run.locked():
        run, state = running(name)
        nic = _user_nic(name, state, nic_id)
        check_port_free(fwd, source=None, field="RULE")
        with Qmp(run.qmp) as q:
            _hmp(q, f"hostfwd_add {nic} {fwd}")
        entry = {"nic": nic, "rule": str(fwd)}
        state.setdefault("forwards", []).append(entry)
        run.write_state(state)
    return entry


def delete(name: str, rule: str) -> dict[str, str]:
    run, state = running(name)
    fwd = _parse(rule)
    with run.locked():
        run, state = running(name)
        match = [f for f in state.get("forwards", []) if _same_host_side(f["rule"], fwd)]
        if not match:
            raise StateError(f"{name}: no forward from {fwd.proto}:{fwd.host_addr}:{fwd.host_port}", hint=f"vmrun fwd list {name}")
        with Qmp(run.qmp) as q:
            _hmp(q, f"hostfwd_remove {match[0]['nic']} {fwd.proto}:{fwd.host_addr}:{fwd.host_port}", success="removed")
        state["forwards"].remove(match[0])
        run.write_state(state)
    return match[0]


def _same_host_side(recorded: str, fwd: HostFwd) -> bool:
    r = parse_hostfwd(recorded)
    return (r.proto, r.host_addr, r.host_port) == (fwd.proto, fwd.host_addr, fwd.host_port)


def listing(name: str) -> list[dict[str, str]]:
    _, state = running(name)
    return list(state.get("forwards", []))
