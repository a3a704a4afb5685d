"""Both engines stand behind one interface, and what one cannot do is said in one wording."""

from __future__ import annotations

import inspect

import pytest

from vmrun.engines.base import RunningVm, Started
from vmrun.engines.libvirt.up import StartedDomain
from vmrun.engines.libvirt.vm import LibvirtVm
from vmrun.engines.qemu.launch import Launched
from vmrun.engines.qemu.vm import Vm
from vmrun.errors import NotSupported, StateError


def members(protocol: type) -> set[str]:
    return {n for n, v in vars(protocol).items() if not n.startswith("_") and (callable(v) or isinstance(v, property))}


@pytest.mark.parametrize("cls", [Vm, LibvirtVm])
def test_both_vms_have_every_method_of_the_interface(cls):
    missing = {n for n in members(RunningVm) if not hasattr(cls, n)}
    assert missing == set()
    for name in members(RunningVm) - {"host"}:
        wanted = inspect.signature(getattr(RunningVm, name)).parameters
        got = inspect.signature(getattr(cls, name)).parameters
        assert [p for p in wanted if p != "self"] == [p for p in got if p != "self"], (cls, name)


@pytest.mark.parametrize("cls", [Launched, StartedDomain])
def test_both_starts_have_every_method_of_the_interface(cls):
    assert {n for n in members(Started) if not hasattr(cls, n)} == set()


def test_what_an_engine_cannot_do_is_one_error_in_one_wording(runtime_dir):
    qemu, libvirt = Vm.named("web"), LibvirtVm("qemu+tcp://lab1/system", "web")
    cases = [
        (
            lambda: qemu.migrate(
                "qemu:///system", live=True, persist=False, copy_storage=False, shared_storage=False, waiting=None
            ),
            "web: migrate is not supported on the qemu engine",
        ),
        (lambda: qemu.autostart(True), "web: autostart is not supported on the qemu engine"),
        (lambda: libvirt.log(qemu_output=False, follow=False), "web: log is not supported on the libvirt engine"),
        (lambda: libvirt.launched_argv(), "web: show --running is not supported on the libvirt engine"),
    ]
    for call, message in cases:
        with pytest.raises(NotSupported) as e:
            call()
        assert e.value.message == message and e.value.hint
        assert isinstance(e.value, StateError) and e.value.exit_code == 2
