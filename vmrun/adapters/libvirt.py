"""The one adapter to libvirt (libvirt-python): connections, errors on one line, the QEMU monitor passthrough.

Imported lazily (libvirt costs ~40 ms to import). This is the one place that knows
``libvirt.libvirtError``: :func:`failing` turns it into a vmrun error of the caller's class
(EngineError unless told otherwise) with libvirt's reason on one line; :func:`lookup` is
"that object, or None where libvirt says there is none"; :func:`quietly` is for a call whose
failure changes nothing. A connection that cannot be opened is one error naming the URI.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any, TypeVar

from vmrun.errors import EngineError, PreflightError, VmrunError

T = TypeVar("T")

START_HINT = "start libvirtd (systemctl start libvirtd; without systemd: virtlogd -d && libvirtd -d), or fix the URI"
INSTALL_HINT = "pip install libvirt-python (it builds against libvirt-dev and pkg-config)"


@cache
def quiet_libvirt() -> Any:
    """libvirt prints every error to stderr by default; ours is the one line the user should see."""
    import libvirt

    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    return libvirt


def reason(e: Exception) -> str:
    """libvirt's message, on one line."""
    return " ".join(str(e).split())


@contextmanager
def failing(what: str, *, error: Callable[..., VmrunError] = EngineError, hint: str | None = None) -> Iterator[None]:
    """A libvirt error in the block becomes ``error("WHAT: libvirt's reason", hint=hint)``."""
    libvirt = quiet_libvirt()
    try:
        yield
    except libvirt.libvirtError as e:
        raise error(f"{what}: {reason(e)}", hint=hint) from None


def lookup(
    call: Callable[[], T], missing: str, what: str, *, error: Callable[..., VmrunError] = EngineError
) -> T | None:
    """``call()``, or None where libvirt answers with the error code named ``missing`` (``VIR_ERR_NO_DOMAIN``...)."""
    libvirt = quiet_libvirt()
    try:
        return call()
    except libvirt.libvirtError as e:
        if e.get_error_code() == getattr(libvirt, missing):
            return None
        raise error(f"{what}: {reason(e)}") from None


def quietly(call: Callable[[], T]) -> T | None:
    """``call()``, or None if libvirt refused: for a step whose failure changes nothing (it went meanwhile)."""
    try:
        return call()
    except quiet_libvirt().libvirtError:
        return None


def virsh(uri: str) -> str:
    """How to say the same with virsh, for hints."""
    return "virsh" if uri == "qemu:///system" else f"virsh -c {uri}"


def open_connection(uri: str, *, readonly: bool = False) -> Any:
    try:
        libvirt = quiet_libvirt()
    except ImportError:
        raise PreflightError("the libvirt Python binding is not installed", hint=INSTALL_HINT) from None
    try:
        return libvirt.openReadOnly(uri) if readonly else libvirt.open(uri)
    except libvirt.libvirtError as e:
        raise PreflightError(f"cannot reach libvirt at {uri}: {reason(e)}", hint=START_HINT) from None


@contextmanager
def connect(uri: str, *, readonly: bool = False) -> Iterator[Any]:
    conn = open_connection(uri, readonly=readonly)
    try:
        yield conn
    finally:
        try:
            conn.close()
        except Exception:
            pass


def monitor(dom: Any, command: str, *, hmp: bool = False) -> str:
    """A QMP (or HMP) command through libvirt's QEMU monitor passthrough; the raw answer."""
    import libvirt_qemu

    flags = libvirt_qemu.VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP if hmp else 0
    return libvirt_qemu.qemuMonitorCommand(dom, command, flags)


@contextmanager
def agent_failing(vm: str, command: str) -> Iterator[None]:
    """libvirt's "agent is not connected" and "not responding" as the one line a guest without an agent
    gives (vmrun.adapters.qga.no_agent), its "agent is not configured" (a domain without the channel) as
    the QEMU engine's line for agent = false; its other refusals as an AgentError naming the command."""
    from vmrun.adapters.qga import ANSWER_TIMEOUT, no_agent, no_port
    from vmrun.errors import AgentError

    libvirt = quiet_libvirt()
    try:
        yield
    except libvirt.libvirtError as e:
        if e.get_error_code() in (libvirt.VIR_ERR_AGENT_UNRESPONSIVE, libvirt.VIR_ERR_AGENT_UNSYNCED):
            raise no_agent(vm, ANSWER_TIMEOUT) from None
        if e.get_error_code() == libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED and "agent is not configured" in str(e):
            raise no_port(vm) from None
        raise AgentError(f"{vm}: the guest agent refused {command}: {reason(e)}") from None


def agent_command(dom: Any, command: str, timeout: int) -> str:
    """A QGA command through libvirt's agent passthrough (``virDomainQemuAgentCommand``); the raw answer."""
    import libvirt_qemu

    return libvirt_qemu.qemuAgentCommand(dom, command, timeout, 0)
