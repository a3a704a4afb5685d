"""`vmrun ps`'s table stays narrow however many forwards or NICs a VM has; `ps --json` keeps them all."""

from __future__ import annotations

from vmrun.engines.base import VmStatus
from vmrun.runstate import Forward, NicState, RunState
from vmrun.summary import ps_table


def status(name: str, forwards: int, nics: int = 1) -> VmStatus:
    state = RunState(
        name,
        f"/p/{name}.toml",
        "tcg",
        [],
        0.0,
        phase="running",
        pid=10,
        nics=[NicState(f"net{i}", "user", "virtio-net-pci", "52:54:00:00:00:01") for i in range(nics)],
        forwards=[Forward("net0", f"tcp:127.0.0.1:{20000 + i}-:22") for i in range(forwards)],
    )
    return VmStatus(name, 10, "running", 5.0, state)


def test_two_hundred_forwards_do_not_pad_every_row():
    """Was 5,472 characters a row: every row padded to the widest FORWARDS cell."""
    big, small = status("big", 200, nics=40), status("small", 1)
    header, big_row, small_row = ps_table([big, small]).splitlines()
    assert "tcp:127.0.0.1:20000-:22, tcp:127.0.0.1:20001-:22, tcp:127.0.0.1:20002-:22, +197 more" in big_row
    assert "net0:user, net1:user, net2:user, +37 more" in big_row
    assert max(len(header), len(big_row), len(small_row)) < 200
    assert len(big.as_json()["forwards"]) == 200 and len(big.as_json()["nics"]) == 40


def test_a_few_forwards_are_all_shown():
    [row] = ps_table([status("vm", 3, nics=3)]).splitlines()[1:]
    assert "tcp:127.0.0.1:20000-:22, tcp:127.0.0.1:20001-:22, tcp:127.0.0.1:20002-:22" in row and "more" not in row
