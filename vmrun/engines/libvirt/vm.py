"""A VM run by libvirt, locally or on another host: the engine's :class:`~vmrun.engines.base.RunningVm`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from vmrun.adapters import libvirt as lv
from vmrun.engines.base import Added, Migrated, Snapshot, VmStatus, Waiting, not_supported
from vmrun.engines.libvirt.uris import host_of
from vmrun.errors import EngineError, ProfileError, StateError
from vmrun.runstate import Forward, RunState

if TYPE_CHECKING:
    from pathlib import Path

from vmrun.engines.common import SharedVm, press_until_off
from vmrun.engines.libvirt.agent import POWER_OFF_WAIT, LibvirtAgentVm
from vmrun.engines.libvirt.dom import STATES, Passthrough, lookup, metadata, state_of, wait_inactive


class LibvirtVm(LibvirtAgentVm, SharedVm):
    engine = "libvirt"

    def __init__(self, uri: str, name: str) -> None:
        self.uri = uri
        self.name = name

    @property
    def host(self) -> str:
        return host_of(self.uri)

    @classmethod
    def find(cls, name: str, where: list[str]) -> LibvirtVm | None:
        """The domain of that name that vmrun made, on the first of ``where`` that has one."""
        for uri in where:
            try:
                with lv.connect(uri, readonly=True) as conn:
                    dom = lookup(conn, name)
                    if dom is not None and metadata(dom) is not None:
                        return cls(uri, name)
            except (ProfileError, StateError, EngineError):
                continue  # a host that does not answer now must not hide the others
        return None

    @contextmanager
    def domain(self) -> Iterator[Any]:
        with lv.connect(self.uri) as conn:
            dom = lookup(conn, self.name)
            if dom is None or metadata(dom) is None:
                raise StateError(f"{self.name}: not running on {self.uri}")
            yield dom

    def state(self) -> RunState:
        """What `ps` shows, read back from the domain's metadata."""
        with self.domain() as dom:
            return state_of(dom)

    require_state = state  # a domain's metadata is never "lost" as a run folder can be

    def status(self) -> VmStatus:
        try:
            with self.domain() as dom:
                code = dom.state()[0]
                state = state_of(dom)
        except (ProfileError, StateError, EngineError) as e:
            return VmStatus(self.name, None, "unreachable", None, None, e.message, engine=self.engine, host=self.host)
        return VmStatus(
            self.name, None, STATES.get(code, "unknown"), None, state, None, engine=self.engine, host=self.host
        )

    def down(
        self, *, timeout: float = 60.0, force: bool = False, progress: Callable[[str], None] = lambda _: None
    ) -> str:
        """ACPI shutdown (pressed again while the guest boots), then the guest agent's power-off, then destroy."""
        with self.domain() as dom:
            if not dom.isActive():
                return "was not running"
            persistent = dom.isPersistent()
            how = "destroyed"
            # A press that fails: it went meanwhile.
            if not force and press_until_off(
                # The power button only: libvirt's default would pick the agent first, which comes next here.
                lambda: lv.quietly(lambda: dom.shutdownFlags(lv.quiet_libvirt().VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN)),
                lambda wait: wait_inactive(dom, wait),
                timeout=timeout,
                progress=progress,
            ):
                how = "powered off"
            elif not force and self._agent_power_off(dom):
                how = "ignored ACPI; powered off by its guest agent"
            if how == "destroyed":
                try:
                    with lv.failing(f"{self.name}: libvirt could not destroy it"):
                        dom.destroy()
                except EngineError:
                    if dom.isActive():
                        raise
                how = "did not power off in time; destroyed" if not force else "destroyed"
        if not persistent and self.host == "local":  # a defined domain keeps its seed, as it keeps its disks
            from vmrun.engines.libvirt import seed

            seed.remove(self.name)
        return how + (" (still defined: vmrun autostart, or virsh undefine)" if persistent else "")

    def _agent_power_off(self, dom: Any) -> bool:
        """ACPI ignored: the guest agent powers off from inside, if there is one that answers."""
        libvirt = lv.quiet_libvirt()
        if lv.quietly(lambda: dom.shutdownFlags(libvirt.VIR_DOMAIN_SHUTDOWN_GUEST_AGENT)) is None:
            return False
        return wait_inactive(dom, POWER_OFF_WAIT)

    @contextmanager
    def qmp(self, timeout: float = 10.0) -> Iterator[Passthrough]:
        with self.domain() as dom:
            yield Passthrough(dom)

    def autostart(self, on: bool) -> None:
        with self.domain() as dom:
            if not dom.isPersistent():
                raise StateError(
                    f"{self.name} is transient: libvirt cannot start it at boot",
                    hint=f"vmrun down {self.name}, then vmrun up {self.name} --persist",
                )
            dom.setAutostart(int(on))

    # --- what commands ask of it (vmrun.engines.base.RunningVm) ---

    def nic_add(self, raw: dict[str, Any]) -> Added:
        from vmrun.engines.libvirt import nics

        return nics.add(self, raw)

    def nic_del(self, nic_id: str, *, timeout: float) -> None:
        from vmrun.engines.libvirt import nics

        nics.delete(self, nic_id, timeout=timeout)

    def usb_add(self, device: str, usb_id: str | None) -> Any:
        from vmrun.engines.libvirt import usb

        return usb.add(self, device, usb_id)

    def usb_del(self, usb_id: str, *, timeout: float) -> None:
        from vmrun.engines.libvirt import usb

        usb.delete(self, usb_id, timeout=timeout)

    def usb_list(self) -> list[dict[str, Any]]:
        from vmrun.engines.libvirt import usb

        return usb.listing(self)

    def fwd_add(self, rule: str, nic_id: str | None = None) -> Forward:
        from vmrun.engines.libvirt import nics

        return nics.add_forward(self, rule, nic_id)

    def fwd_del(self, rule: str) -> Forward:
        from vmrun.engines.libvirt import nics

        return nics.delete_forward(self, rule)

    def snapshot_save(self, tag: str, *, vmstate: str | None, waiting: Waiting) -> Snapshot:
        from vmrun.engines.libvirt import snapshots

        return snapshots.save(self, tag, vmstate=vmstate, waiting=waiting)

    def snapshot_load(self, tag: str, *, waiting: Waiting) -> None:
        from vmrun.engines.libvirt import snapshots

        snapshots.load(self, tag, waiting=waiting)

    def snapshot_delete(self, tag: str, *, waiting: Waiting) -> None:
        from vmrun.engines.libvirt import snapshots

        snapshots.delete(self, tag, waiting=waiting)

    def snapshot_list(self) -> list[Snapshot]:
        from vmrun.engines.libvirt import snapshots

        return snapshots.listing(self)

    def console(self) -> None:
        import os

        os.execvp(
            "virsh", ["virsh", "-c", self.uri, "console", self.name]
        )  # libvirt's client knows its stream protocol

    def log(self, *, qemu_output: bool, follow: bool) -> None:
        raise not_supported(
            self.name,
            "log",
            self.engine,
            hint=f"libvirt keeps it on {self.host}: /var/log/libvirt/qemu/{self.name}.log; "
            f"vmrun console {self.name} shows its serial console",
        )

    def display(self) -> Any:
        from vmrun.display import display_from_xml

        with self.domain() as dom:  # the live XML with its secrets (passwd), as `virsh domdisplay` reads it
            return display_from_xml(self.name, dom.XMLDesc(lv.quiet_libvirt().VIR_DOMAIN_XML_SECURE), self.host)

    def private_folder(self) -> Path | None:
        return None

    def launched_argv(self) -> list[str]:
        raise not_supported(
            self.name,
            "show --running",
            self.engine,
            hint=f"libvirt wrote its QEMU command line on {self.host}: /var/log/libvirt/qemu/{self.name}.log; "
            f"vmrun show {self.name} --libvirt for the XML",
        )

    def migrate(
        self, to: str, *, live: bool, persist: bool, copy_storage: bool, shared_storage: bool, waiting: Waiting
    ) -> Migrated:
        from vmrun.engines.libvirt.migrate import migrate

        return migrate(
            self,
            to,
            live=live,
            persist=persist,
            copy_storage=copy_storage,
            shared_storage=shared_storage,
            waiting=waiting,
        )


def list_vms(where: list[str]) -> list[LibvirtVm]:
    """vmrun's domains (running or defined) on each URI; a URI that does not answer is said once and skipped."""
    from vmrun import ui

    found = []
    for uri in where:
        try:
            with lv.connect(uri, readonly=True) as conn:
                found += [LibvirtVm(uri, dom.name()) for dom in conn.listAllDomains(0) if metadata(dom) is not None]
        except ProfileError as e:
            ui.notice(e.message)
    return found
