"""`vmrun fwd add/del/list`: port forwards on a running VM's user NIC, over QMP.

QEMU has no QMP command for slirp forwards, so these go through
human-monitor-command (``hostfwd_add``/``hostfwd_remove``), which answers with
text: empty on success, the reason otherwise.

A forward is written into the run state (phase ``adding`` or ``removing``)
before QEMU is asked, so one whose command was killed half way stays known: a
`fwd del` of it takes out what QEMU may have ("not found" is then success), and
a new `fwd add` of its host side first does the same.
"""

from __future__ import annotations

from vmrun import signals, ui
from vmrun.errors import QmpError, StateError
from vmrun.preflight import check_port_free
from vmrun.profile.fields import parse_hostfwd, parse_rule_arg
from vmrun.profile.model import HostFwd
from vmrun.qmp import Qmp
from vmrun.runstate import ADDING, REMOVING, RUNNING, Forward, RunState
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


def _hmp(q: Qmp, line: str) -> None:
    """Run a monitor command whose only answer is text: none on success, the reason otherwise."""
    answer = (q.execute("human-monitor-command", {"command-line": line}) or "").strip()
    if answer:
        raise QmpError(f"{line}: {answer}", sent=line, received=answer)


def add(name: str, rule: str, nic_id: str | None = None, *, connect: str | None = None) -> Forward:
    fwd = parse_rule_arg(rule)
    vm = find(name, connect)
    if not isinstance(vm, Vm):
        from vmrun.engines.libvirt import nics

        return nics.add_forward(vm, fwd, nic_id)
    with vm.edit("fwd add") as state:
        nic = _user_nic(name, state, nic_id)
        left = [f for f in state.forwards if f.phase != RUNNING and _same_host_side(f.rule, fwd)]
        with vm.qmp() as q:
            for f in left:  # a fwd add or del cut short: QEMU may or may not have it
                _remove(q, f)
                state.forwards.remove(f)
                vm.save(state)
            check_port_free(fwd, source=None, field="RULE")
            entry = Forward(nic, str(fwd), ADDING)
            state.forwards.append(entry)
            vm.save(state)
            try:
                with signals.deferred():  # added and recorded, or neither
                    _hmp(q, f"hostfwd_add {nic} {fwd}")
                    entry.phase = RUNNING
                    vm.save(state)
            except BaseException:
                if entry.phase == ADDING:  # QEMU refused it, or was never asked
                    state.forwards.remove(entry)
                    vm.save(state)
                raise
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
        entry = match[0]
        marked = entry.phase == RUNNING
        if marked:
            entry.phase = REMOVING  # written before QEMU is asked: a del killed from here on is finished by the next
            vm.save(state)
        with vm.qmp() as q, signals.deferred():
            try:
                there = _remove(q, entry)
            except QmpError:
                if marked:  # refused: the forward is as it was
                    entry.phase = RUNNING
                    vm.save(state)
                raise
            if not there and marked:
                ui.notice(f"QEMU had no forward {entry.rule} any more; dropped from the record")
            state.forwards.remove(entry)
            vm.save(state)
    return entry


def _remove(q: Qmp, entry: Forward) -> bool:
    """Take ``entry`` out of QEMU; False if QEMU did not have it (a cut-short command's work)."""
    r = parse_hostfwd(entry.rule)
    line = f"hostfwd_remove {entry.nic} {r.proto}:{r.host_addr}:{r.host_port}"
    answer = (q.execute("human-monitor-command", {"command-line": line}) or "").strip()
    if answer.endswith("removed"):
        return True
    if answer.endswith("not found"):
        return False
    raise QmpError(f"{line}: {answer}", sent=line, received=answer)


def _same_host_side(recorded: str, fwd: HostFwd) -> bool:
    r = parse_hostfwd(recorded)
    return (r.proto, r.host_addr, r.host_port) == (fwd.proto, fwd.host_addr, fwd.host_port)


def listing(name: str, *, connect: str | None = None) -> list[Forward]:
    return list(find(name, connect).require_state().forwards)
