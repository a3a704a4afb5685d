"""Into a running guest through its agent, written once for both engines: run a command, copy a file,
list the guest's addresses per NIC.

Each function takes a :class:`~vmrun.engines.base.RunningVm` and uses only its agent calls
(``agent()``, ``agent_interfaces()``) and what its host side knows (``host_addresses()``):
whichever engine runs the VM, the QGA conversation is the same.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vmrun.adapters.qga import b64, unb64
from vmrun.errors import AgentError, FileError

if TYPE_CHECKING:
    from vmrun.engines.base import RunningVm

CHUNK = 256 * 1024  # per guest-file-read: big files in pieces the agent answers quickly
WRITE_CHUNK = 48 * 1024  # per guest-file-write: through libvirt, a 256 KiB write never came back here
CALL_TIMEOUT = 30.0  # one chunk, one status poll: TCG guests are slow, but never this slow
POLL_TIMEOUT = 5.0  # one guest-exec-status: an agent that died meanwhile is said soon
NOT_FOUND, CANNOT_RUN = 127, 126  # as a shell says it


@dataclass(frozen=True)
class Ran:
    exitcode: int
    stdout: bytes
    stderr: bytes
    signal: int | None = None


def run(vm: RunningVm, argv: list[str], *, stdin: bytes | None = None, timeout: float | None = None) -> Ran:
    """Run ``argv`` in the guest (``guest-exec``, output captured), wait for it, return what it printed and
    its status; a program the guest cannot find or run is status 127 or 126, its reason on stderr."""
    args: dict[str, Any] = {"path": argv[0], "arg": argv[1:], "capture-output": True}
    if stdin:
        args["input-data"] = b64(stdin)
    with vm.agent() as agent:
        try:
            pid = agent.execute("guest-exec", args, timeout=CALL_TIMEOUT)["pid"]
        except AgentError as e:
            code = _spawn_failure(e.message)
            if code is None:
                raise
            return Ran(code, b"", f"{argv[0]}: {e.message.rsplit(': ', 1)[-1]}\n".encode())
        deadline = None if timeout is None else time.monotonic() + timeout
        wait = 0.02
        while True:
            status = agent.execute("guest-exec-status", {"pid": pid}, timeout=POLL_TIMEOUT)
            if status.get("exited"):
                break
            if deadline is not None and time.monotonic() > deadline:
                raise AgentError(f"{vm.name}: {argv[0]} still runs after {timeout:.0f} s (guest pid {pid})")
            time.sleep(wait)
            wait = min(wait * 2, 0.5)
    signal = status.get("signal")
    code = status.get("exitcode", 128 + (signal or 0))
    return Ran(code, unb64(status.get("out-data")), unb64(status.get("err-data")), signal)


def _spawn_failure(message: str) -> int | None:
    if "No such file or directory" in message:
        return NOT_FOUND
    if "Permission denied" in message or "Exec format error" in message:
        return CANNOT_RUN
    return None


def read_file(vm: RunningVm, path: str) -> Iterator[bytes]:
    """A guest file's bytes, chunk by chunk."""
    with vm.agent() as agent:
        handle = _open(vm, agent, path, "r")
        try:
            while True:
                got = agent.execute("guest-file-read", {"handle": handle, "count": CHUNK}, timeout=CALL_TIMEOUT)
                data = unb64(got.get("buf-b64"))
                if data:
                    yield data
                if got.get("eof") or not data:
                    break
        except BaseException:
            _close(agent, handle, failing=True)
            raise
        _close(agent, handle)


def write_file(
    vm: RunningVm, path: str, chunks: Iterator[bytes], progress: Callable[[int], None] = lambda _: None
) -> int:
    """Write ``chunks`` to a guest file (made or emptied); the number of bytes written."""
    total = 0
    with vm.agent() as agent:
        handle = _open(vm, agent, path, "w")
        try:
            for chunk in chunks:
                for i in range(0, len(chunk), WRITE_CHUNK):
                    part = chunk[i : i + WRITE_CHUNK]
                    args = {"handle": handle, "buf-b64": b64(part)}
                    total += agent.execute("guest-file-write", args, timeout=CALL_TIMEOUT)["count"]
                    progress(total)
        except BaseException:
            _close(agent, handle, failing=True)
            raise
        _close(agent, handle)
    return total


def _close(agent: Any, handle: int, *, failing: bool = False) -> None:
    """Close the guest's file; when the copy already failed, a failure here must not hide why."""
    try:
        agent.execute("guest-file-close", {"handle": handle})
    except AgentError:
        if not failing:
            raise


def _open(vm: RunningVm, agent: Any, path: str, mode: str) -> int:
    try:
        return agent.execute("guest-file-open", {"path": path, "mode": mode})
    except AgentError as e:
        why = e.message.rsplit(": ", 1)[-1].strip("'")
        for errno_text in ("No such file or directory", "Permission denied", "Is a directory", "Not a directory"):
            if errno_text in e.message:
                why = errno_text
        raise FileError(f"{vm.name}:{path}: {why}") from None


# --- addresses ---


def addresses(vm: RunningVm, notice: Callable[[str], None] = lambda _: None) -> list[dict[str, Any]]:
    """Each NIC of the VM (matched by MAC) with its addresses and where each came from: the agent, else
    what the host knows (DHCP leases, the neighbour table of the NIC's bridge); ``notice`` hears why the
    agent did not answer when the host's knowledge stands in for it."""
    nics = [{"nic": n.id, "mac": n.mac.lower(), "addresses": []} for n in vm.require_state().nics]
    by_mac = {n["mac"]: n for n in nics}
    try:
        for iface in vm.agent_interfaces():
            entry = by_mac.get((iface.get("hardware-address") or "").lower())
            if entry is None:
                continue
            for a in iface.get("ip-addresses") or []:
                if a.get("ip-address-type") == "ipv6" and a["ip-address"].startswith("fe80:"):
                    continue  # link-local: no use without a scope
                entry["addresses"].append({"address": a["ip-address"], "prefix": a.get("prefix"), "source": "agent"})
        agent_failed = None
    except AgentError as e:
        agent_failed = e
    for mac, address, prefix, source in vm.host_addresses():
        entry = by_mac.get(mac.lower())
        if entry is not None and not any(a["address"] == address for a in entry["addresses"]):
            if agent_failed is not None or not entry["addresses"]:
                entry["addresses"].append({"address": address, "prefix": prefix, "source": source})
    if agent_failed is not None and not any(n["addresses"] for n in nics):
        raise agent_failed
    if agent_failed is not None:
        notice(f"{agent_failed.message}; addresses from what the host knows")
    return nics


def ipv4_first(nics: list[dict[str, Any]]) -> list[str]:
    """Every address of every NIC, IPv4 first: the order `ssh` tries them in."""
    found = [a["address"] for n in nics for a in n["addresses"]]
    return sorted(found, key=lambda a: ":" in a)
