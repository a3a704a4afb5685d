"""The profile key reference is generated from the loader; the README holds the same text."""

from __future__ import annotations

from tests.conftest import REPO
from vmrun.profile import load, reference

REGEN = ".venv/bin/python -m vmrun.profile.reference --write README.md"


def test_readme_section_is_the_generated_reference():
    section = reference.readme_section((REPO / "README.md").read_text())
    assert section == reference.render().rstrip("\n"), f"the README's profile keys are stale: run {REGEN}"


def test_every_key_has_a_meaning():
    missing = reference.undocumented()
    assert missing == [], f"add a line for each to MEANING in vmrun/profile/reference.py, then run {REGEN}: {missing}"


def test_keys_per_nic_type_and_defaults_come_from_the_loader():
    found = {(k.section, k.key): k for k in reference.keys()}
    assert found["", "memory"].default == '"1G"' and found["", "memory"].type == "size"
    assert found["", "smp"].type == "integer 1-4096"
    assert found["nics", "type"].type == "user, bridge, macvtap, ovs, network, passt, tap, netdev"
    assert found["nics.ovs", "vlan"].type == "integer 1-4094" and ("nics.bridge", "vlan") not in found
    assert found["nics.bridge", "bridge"].default == "required"
    assert found["nics.bridge", "bridge"].meaning != found["nics.ovs", "bridge"].meaning
    for nic_type, keys in load._NIC_KEYS.items():  # each type's own keys, no more, no less
        assert {k for (s, k) in found if s == f"nics.{nic_type.value}"} == keys
    assert ("drives", "file") in found and found["drives", "file"].type == "path"


def test_the_recorder_leaves_the_loader_as_it_was(write_profile):
    reference.keys()
    assert load.Table.__name__ == "Table"
    path = write_profile('name = "x"\nmemory = "2G"\n')
    assert load.load_profile(str(path)).memory_mib == 2048


def test_write_readme_puts_it_between_the_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{reference.BEGIN}\nold\n{reference.END}\n\nafter\n")
    assert reference.write_readme(str(readme)) is True
    text = readme.read_text()
    assert reference.readme_section(text) == reference.render().rstrip("\n") and text.endswith(
        f"{reference.END}\n\nafter\n"
    )
    assert reference.write_readme(str(readme)) is False
