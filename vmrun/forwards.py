"""`vmrun fwd add/del/list`: port forwards on a running VM's user NIC, over QMP.

QEMU has no QMP command for slirp forwards, so these go through
human-monitor-command (``hostfwd_add``/``hostfwd_remove``), which answers with
text: empty on success, the reason otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vmrun import signals
from vmrun.errors import QmpError
from vmrun.engines.common import no_such_forward, same_host_side, user_nic
from vmrun.preflight import check_port_free
from vmrun.profile.fields import parse_rule_arg
from vmrun.qmp import Qmp
from vmrun.runstate import Forward

if TYPE_CHECKING:
    from vmrun.vm import Vm


def _hmp(q: Qmp, line: str, *, success: str = "") -> None:
    """Run a monitor command whose only answer is text: ``success`` is how its good answer ends."""
    answer = (q.execute("human-monitor-command", {"command-line": line}) or "").strip()
    if answer != success and not (success and answer.endswith(success)):
        raise QmpError(f"{line}: {answer}", sent=line, received=answer)


def add(vm: Vm, rule: str, nic_id: str | None = None) -> Forward:
    fwd = parse_rule_arg(rule)
    with vm.edit("fwd add") as state:
        nic = user_nic(vm.name, [n.id for n in state.nics if n.type == "user"], nic_id)
        check_port_free(fwd, source=None, field="RULE")
        entry = Forward(nic, str(fwd))
        with vm.qmp() as q, signals.deferred():  # added and recorded, or neither
            _hmp(q, f"hostfwd_add {nic} {fwd}")
            state.forwards.append(entry)
    return entry


def delete(vm: Vm, rule: str) -> Forward:
    fwd = parse_rule_arg(rule, host_side_only=True)
    with vm.edit("fwd del") as state:
        match = [f for f in state.forwards if same_host_side(f.rule, fwd)]
        if not match:
            raise no_such_forward(vm.name, fwd, hint=f"vmrun fwd list {vm.name}")
        with vm.qmp() as q, signals.deferred():
            _hmp(q, f"hostfwd_remove {match[0].nic} {fwd.proto}:{fwd.host_addr}:{fwd.host_port}", success="removed")
            state.forwards.remove(match[0])
    return match[0]
