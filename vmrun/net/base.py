"""What every NIC backend hands over: the -netdev spec, fds to pass and a host-side record."""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from vmrun.errors import FileError, HostNetError
from vmrun.net.hostobj import HostObject, Recorder
from vmrun.profile.model import Nic, Profile
from vmrun.qemuopts import OptValue


@dataclass(frozen=True)
class NetdevSpec:
    """One ``-netdev BACKEND,id=ID,...`` (the argv builder adds the id) and extra ``-device`` options."""

    backend: str
    options: tuple[tuple[str, OptValue], ...] = ()
    device_options: tuple[tuple[str, OptValue], ...] = ()


@dataclass
class PreparedNic:
    nic: Nic
    netdev: NetdevSpec
    pass_fds: tuple[int, ...] = ()
    # Shown by `vmrun ps` and kept in the VM's state: tap name, bridge, vhost, forwards...
    host: dict[str, Any] = field(default_factory=dict)


@dataclass
class PrepareContext:
    """Where a backend records what it makes and registers how to undo it if `up` fails.

    Undo steps run only when the launch fails or is interrupted; once QEMU has
    answered, the VM owns what was made and `vmrun down` releases it from the record.
    """

    profile: Profile
    run_dir: Path
    stack: ExitStack
    recorder: Recorder
    nic_id: str | None = None  # the NIC being prepared; its records carry it, for `nic del`
    fds: list[int] = field(default_factory=list)

    def made(self, obj: HostObject) -> HostObject:
        """Record a host object before it is used; undo it if the launch fails."""
        if self.nic_id is not None:
            obj = replace(obj, nic=self.nic_id)
        # The undo first: a signal at the end of the write below must find it registered.
        self.stack.callback(self._undo, obj)
        self.recorder.add(obj)
        return obj

    def own_fds(self, fds: list[int]) -> None:
        """fds to hand to QEMU; closed exactly once, by close_fds() after handing over or on failure."""
        self.fds.extend(fds)
        self.stack.callback(self.close_fds)

    def close_fds(self) -> None:
        while self.fds:
            os.close(self.fds.pop())

    def undo(self, func: Callable[..., Any], *args: Any) -> None:
        self.stack.callback(func, *args)

    def _undo(self, obj: HostObject) -> None:
        try:
            obj.release(self.run_dir)
        except HostNetError as e:
            # Kept on record (a failed `up` keeps its run folder for it): raising here would hide
            # the error that made us undo, and drop the record with the folder.
            from vmrun import ui

            ui.notice(f"{obj}: {e.message}; vmrun gc (or down) removes it once that is fixed")
            return
        try:
            self.recorder.discard(obj)
        except FileError:
            # A full disk is often why we are undoing: a record of an object that is gone is
            # harmless (releasing it again finds nothing of ours), hiding the first error is not.
            pass


def nic_field(profile: Profile, nic: Nic) -> str:
    """``nics[1]``: where a NIC sits in its profile, for error messages."""
    ids = [n.id for n in profile.nics]
    return f"nics[{ids.index(nic.id)}]" if nic.id in ids else f"nic {nic.id}"


class Backend(Protocol):
    def describe(self, nic: Nic, profile: Profile) -> NetdevSpec:
        """The -netdev as `vmrun show` prints it: no host changes, no fds."""

    def preflight(self, nic: Nic, profile: Profile) -> None:
        """Check, before anything starts, that the host side can be made; raise PreflightError."""

    def prepare(self, nic: Nic, ctx: PrepareContext) -> PreparedNic:
        """Make the host side, recording each object with ``ctx.made``."""
