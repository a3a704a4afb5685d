"""`vmrun fwd add/del/list`: port forwards on a running VM's user NIC, over QMP.

QEMU has no QMP command for slirp forwards, so these go through
human-monitor-command (``hostfwd_add``/``hostfwd_remove``), which answers with
text: empty on success, the reason otherwise.
"""

from __future__ import annotations

from vmrun import signals
from vmrun.errors import QmpError, StateError
from vmrun.preflight import check_port_free
from vmrun.profile.fields import parse_hostfwd, parse_rule_arg
from vmrun.profile.model import HostFwd
from vmrun.qmp import Qmp
from vmrun.runstate import Forward, RunState
from vmrun.vm import Vm, find


def _user_nic(name: str, state: RunState, nic_id: str | None) -> str:
    users = [n.id for n in state.nics if n.type == "user"]
    if nic_id is not None:
        if nic_id not in users:
            raise StateError(f"{name}: {nic_id!r} is not a user-network NIC", hint=f"its user NICs: {', '.join(users) or 'none'}")
        return nic_id
    if not users:
        raise StateError(f"{name}: no user-network NIC to forward through", hint=f"vmrun nic add {name} --user")
    return users[0]


def _hmp(q: Qmp, line: str, *, success: str = "") -> None:
    """Run a monitor command whose only answer is text: ``success`` is how its good answer ends."""
    answer = (q.execute("human-monitor-command", {"command-line": line}) or "").strip()
    if answer != success and not (success and answer.endswith(success)):
        raise QmpError(f"{line}: {answer}", sent=line, received=answer)


def add(name: str, rule: str, nic_id: str | None = None, *, connect: str | None = None) -> Forward:
    fwd = parse_rule_arg(rule)
    vm = find(name, connect)
    if not isinstance(vm, Vm):
        from vmrun.engines.libvirt import nics

        return nics.add_forward(vm, fwd, nic_id)
    with vm.edit("fwd add") as state:
        nic = _user_nic(name, state, nic_id)
        check_port_free(fwd, source=None, field="RULE")
        entry = Forward(nic, str(fwd))
        with vm.qmp() as q, signals.deferred():  # added and recorded, or neither
            _hmp(q, f"hostfwd_add {nic} {fwd}")
            state.forwards.append(entry)
    return entry


def delete(name: str, rule: str, *, connect: str | None = None) -> Forward:
    fwd = parse_rule_arg(rule, host_side_only=True)
    vm = find(name, connect)
    if not isinstance(vm, Vm):
        from vmrun.engines.libvirt import nics

        return nics.delete_forward(vm, fwd)
    with vm.edit("fwd del") as state:
        match = [f for f in state.forwards if _same_host_side(f.rule, fwd)]
        if not match:
            raise StateError(f"{name}: no forward from {fwd.proto}:{fwd.host_addr}:{fwd.host_port}", hint=f"vmrun fwd list {name}")
        with vm.qmp() as q, signals.deferred():
            _hmp(q, f"hostfwd_remove {match[0].nic} {fwd.proto}:{fwd.host_addr}:{fwd.host_port}", success="removed")
            state.forwards.remove(match[0])
    return match[0]


def _same_host_side(recorded: str, fwd: HostFwd) -> bool:
    r = parse_hostfwd(recorded)
    return (r.proto, r.host_addr, r.host_port) == (fwd.proto, fwd.host_addr, fwd.host_port)


def listing(name: str, *, connect: str | None = None) -> list[Forward]:
    return list(find(name, connect).require_state().forwards)
