"""Fixtures for tests that need root and namespaces but boot no guest."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.libvirtd import RUN, Libvirtd


@pytest.fixture
def libvirtd(vm, netns):
    """libvirtd in the test's namespace; depends on ``vm`` so that it stops first, and ``vm`` finds no daemon left.

    A test adds the networks it makes through vmrun to ``libvirtd.networks`` first: they are then removed
    (undefined too, so no autostart file outlives the test), whatever the test did.
    """
    had_run_dir = RUN.exists()
    with Libvirtd(netns) as lv:
        yield lv
    assert lv.daemon_pids() == [], "libvirtd, virtlogd or dnsmasq survived the test"
    assert RUN.exists() == had_run_dir
    defined = Path("/etc/libvirt/qemu/networks")
    left = [n for n in lv.networks if (defined / f"{n}.xml").exists() or (defined / "autostart" / f"{n}.xml").exists()]
    assert left == [], f"networks still defined after the test: {left}"
