"""Every profile shipped in profiles/ loads."""

from __future__ import annotations

import pytest

from tests.conftest import REPO
from vmrun.profile import load_profile


@pytest.mark.parametrize("path", sorted((REPO / "profiles").glob("*.toml")), ids=lambda p: p.name)
def test_shipped_profile_loads(path):
    profile = load_profile(str(path))
    assert profile.name == path.stem


def test_the_seeds_five_setups_are_there():
    kinds = {nic.type.value for p in (REPO / "profiles").glob("jrgtest*.toml") for nic in load_profile(str(p)).nics}
    assert {"user", "bridge", "network", "ovs", "macvtap"} <= kinds
