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

from typing import TYPE_CHECKING

from vmrun import signals, ui
from vmrun.adapters.qmp import Qmp
from vmrun.engines.common import no_such_forward, same_host_side, user_nic
from vmrun.errors import QmpError
from vmrun.preflight import check_port_free
from vmrun.profile.fields import parse_hostfwd, parse_rule_arg
from vmrun.runstate import ADDING, REMOVING, RUNNING, Forward

if TYPE_CHECKING:
    from vmrun.engines.qemu.vm import Vm


def _hmp(q: Qmp, line: str) -> None:
    """Run a monitor command whose only answer is text: none on success, the reason otherwise."""
    answer = (q.execute("human-monitor-command", {"command-line": line}) or "").strip()
    if answer:
        raise QmpError(f"{line}: {answer}", sent=line, received=answer)


def add(vm: Vm, rule: str, nic_id: str | None = None) -> Forward:
    fwd = parse_rule_arg(rule)
    with vm.edit("fwd add") as state:
        nic = user_nic(vm.name, [n.id for n in state.nics if n.type == "user"], nic_id)
        left = [f for f in state.forwards if f.phase != RUNNING and same_host_side(f.rule, fwd)]
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


def delete(vm: Vm, rule: str) -> Forward:
    fwd = parse_rule_arg(rule, host_side_only=True)
    with vm.edit("fwd del") as state:
        match = [f for f in state.forwards if same_host_side(f.rule, fwd)]
        if not match:
            raise no_such_forward(vm.name, fwd, hint=f"vmrun fwd list {vm.name}")
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
