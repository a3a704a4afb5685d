"""What every NIC backend hands over: the -netdev spec, fds to pass and a host-side record."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from vmrun.qemuopts import OptValue
from vmrun.profile.model import Nic, Profile


@dataclass(frozen=True)
class NetdevSpec:
    """One ``-netdev BACKEND,id=ID,...``; the argv builder adds the id."""

    backend: str
    options: tuple[tuple[str, OptValue], ...] = ()


@dataclass
class PreparedNic:
    nic: Nic
    netdev: NetdevSpec
    pass_fds: tuple[int, ...] = ()
    # Shown by `vmrun ps` and kept in the VM's state: tap name, bridge, vhost, forwards...
    host: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PrepareContext:
    profile: Profile
    run_dir: Path | None


class Backend(Protocol):
    def describe(self, nic: Nic, profile: Profile) -> NetdevSpec:
        """The -netdev as `vmrun show` prints it: no host changes, no fds."""

    def prepare(self, nic: Nic, ctx: PrepareContext) -> AbstractContextManager[PreparedNic]:
        """Make the host side; leaving the context removes whatever was made."""

    def preflight(self, nic: Nic, profile: Profile) -> None:
        """Check, before anything starts, that the host side can be made; raise PreflightError."""

