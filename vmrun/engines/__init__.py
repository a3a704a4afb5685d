"""The engines a profile can run on, behind one interface (:mod:`vmrun.engines.base`).

- ``qemu``: vmrun starts QEMU itself on this host (:mod:`vmrun.engines.qemu.launch`, :class:`vmrun.engines.qemu.vm.Vm`);
- ``libvirt``: a libvirt domain, here or on the host a URI names (:mod:`vmrun.engines.libvirt`).

This module is the one place that says which engine runs a VM: :func:`up` reads the
profile's ``engine`` (or ``-c URI``), :func:`find` looks in both, and every command then
calls :class:`~vmrun.engines.base.RunningVm` methods. Each engine builds what it hands to
the outside world with a pure function of the profile: the QEMU argv (:mod:`vmrun.argv`)
or the domain XML (:mod:`vmrun.engines.libvirt.xml`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vmrun.errors import StateError

if TYPE_CHECKING:
    from vmrun.argv import RunOptions
    from vmrun.engines.base import RunningVm, Started, VmStatus
    from vmrun.profile.model import Profile


def _libvirt_runs(profile: Profile, connect: str | None) -> bool:
    from vmrun.profile.model import Engine

    return connect is not None or profile.engine is Engine.LIBVIRT


def up(
    profile: Profile,
    *,
    connect: str | None = None,
    options: RunOptions | None = None,
    persist: bool = False,
    foreground: bool = False,
    notice: Callable[[str], None] = lambda _: None,
) -> Started:
    """Start the profile's VM on its engine (``connect``, a libvirt URI, picks libvirt)."""
    from vmrun.argv import RunOptions

    options = options or RunOptions()
    if _libvirt_runs(profile, connect):
        from vmrun.engines.base import not_supported
        from vmrun.engines.libvirt import up as libvirt_up
        from vmrun.engines.libvirt import uris

        if foreground:
            raise not_supported(
                profile.name,
                "up --foreground",
                "libvirt",
                hint=f"libvirt keeps the VM, not vmrun: leave it out; vmrun down {profile.name} stops it",
            )
        vm = libvirt_up.up(
            profile, connect or profile.connect or uris.default_uri(), persist=persist, notice=notice, options=options
        )
        return libvirt_up.StartedDomain(vm, profile, persist)
    from vmrun.engines.qemu import launch

    return launch.up(profile, notice=notice, options=options)


@dataclass(frozen=True)
class Described:
    """What `show` prints for a profile: the start.sh (qemu) or the domain XML (libvirt)."""

    text: str
    data: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def describe(profile: Profile, *, libvirt: bool = False) -> Described:
    """The QEMU command line the profile gives, or with ``libvirt`` the domain XML (accel and QEMU resolved here)."""
    if libvirt:
        import shutil

        from vmrun.accel import choose
        from vmrun.engines.libvirt import seed
        from vmrun.engines.libvirt.uris import default_uri
        from vmrun.engines.libvirt.xml import domain_xml

        emulator = shutil.which(profile.qemu) or profile.qemu
        seed_iso, notes = seed.shown(profile, profile.connect or default_uri())
        built = domain_xml(profile, accel=choose(profile.accel).accel, emulator=emulator, seed=seed_iso)
        warnings = [*notes, *built.warnings]
        return Described(built.xml, {"xml": built.xml, "warnings": warnings}, warnings)
    from vmrun.show import describe as argv_of
    from vmrun.show import render_script

    shown = argv_of(profile)
    return Described(render_script(shown["argv"], source=profile.source), shown)


def check_boot_unit(profile: Profile) -> None:
    """A systemd unit starts vmrun's own QEMU; a libvirt domain is started at boot by libvirt (autostart)."""
    if _libvirt_runs(profile, profile.connect):
        from vmrun.errors import ProfileError

        raise ProfileError(
            "runs under libvirt, which starts it at boot itself",
            source=profile.source,
            field="engine",
            hint=f"vmrun up {profile.name} --persist, then vmrun autostart {profile.name} on",
        )


def find(name: str, connect: str | None = None) -> RunningVm:
    """The VM of that name: vmrun's own QEMU on this host, else a libvirt domain vmrun made
    (on ``connect``, or on the URIs vmrun has used and ``$VMRUN_CONNECT``)."""
    from vmrun.engines.qemu.vm import Vm

    vm = Vm.named(name)
    if connect is None and vm.run.exists():
        return Vm.running(name)
    where = _libvirt_uris(connect)
    if where:
        from vmrun.engines.libvirt.vm import LibvirtVm

        found = LibvirtVm.find(name, where)
        if found is not None:
            return found
    if connect is not None:
        raise StateError(f"{name}: no domain of vmrun's by that name at {connect}", hint=f"vmrun ps -c {connect}")
    return Vm.running(name)  # not running: says so, with "did you mean"


def _libvirt_uris(connect: str | None) -> list[str]:
    from vmrun.engines.libvirt import uris

    return uris.in_use(connect)


def status_all(connect: str | None = None) -> list[VmStatus]:
    """Every VM's status, asked of all at once: a VM that does not answer costs `ps` one timeout, not one each.

    The QEMU VMs of this host, then vmrun's libvirt domains on every URI in use (``connect`` too).
    """
    from vmrun.engines.qemu.vm import usable_vms

    vms: list[Any] = usable_vms()
    where = _libvirt_uris(None) + ([connect] if connect else [])
    if where:
        from vmrun.engines.libvirt.vm import list_vms

        vms += list_vms(list(dict.fromkeys(where)))
    if len(vms) <= 1:
        return [vm.status() for vm in vms]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(32, len(vms))) as pool:
        return list(pool.map(lambda vm: vm.status(), vms))


def gc() -> list[str]:
    """Clean up after every VM whose engine is gone but whose host side is left: vmrun's own QEMUs
    (libvirt cleans up after its domains itself), and the libvirt URIs whose daemon is gone for good."""
    from vmrun import ui
    from vmrun.engines.libvirt import uris
    from vmrun.engines.qemu.vm import gc as gc_qemu

    done = gc_qemu()
    for uri in uris.prune():
        ui.notice(f"forgot libvirt at {uri}: its daemon is gone for good (its socket was removed)")
    return done


def profile_state(profile: Profile) -> tuple[str, int | None]:
    """Whether the profile's VM runs, from what is on this host alone (no QMP, no libvirt connection)."""
    if _libvirt_runs(profile, profile.connect):
        return "see vmrun ps", None  # libvirt keeps it: asking means a connection, not a look at a folder
    from vmrun.engines.qemu.vm import run_state

    return run_state(profile.name)
