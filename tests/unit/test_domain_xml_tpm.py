"""[tpm] in the domain XML: <tpm> with libvirt's own swtpm, and the stable <uuid> that keeps its state."""

from __future__ import annotations

import uuid

import pytest

from tests.unit.test_domain_xml import build, compact, tree, validate
from vmrun.engines.libvirt.xmltpm import domain_uuid


@pytest.mark.parametrize(
    ("machine", "table", "model", "version"),
    [
        ("q35", "[tpm]", "tpm-crb", "2.0"),
        ("pc", "[tpm]", "tpm-tis", "2.0"),
        ("q35", '[tpm]\nversion = "1.2"', "tpm-tis", "1.2"),
        ("pc", '[tpm]\nversion = "1.2"', "tpm-tis", "1.2"),
    ],
)
def test_tpm_element_is_valid_and_keeps_its_state(write_profile, tmp_path, machine, table, model, version):
    built = build(write_profile, f'machine = "{machine}"\n{table}\n')
    assert built.warnings == ()
    root = tree(built)
    assert [compact(t) for t in root.findall("devices/tpm")] == [
        f'<tpm model="{model}"><backend type="emulator" version="{version}" persistent_state="yes"/></tpm>'
    ]
    assert root.findtext("uuid") == domain_uuid("t")
    assert [e.tag for e in root][:2] == ["name", "uuid"]
    validate(built.xml, tmp_path)


def test_uuid_is_the_names_own_and_only_with_a_tpm(write_profile):
    assert domain_uuid("t") == domain_uuid("t") != domain_uuid("t2")
    assert uuid.UUID(domain_uuid("win11")).version == 5
    # Fixed for good: a changed namespace would give every VM a new, empty TPM.
    assert domain_uuid("win11") == "8e15e9fd-d510-516e-8b67-e023b0fe6c97"
    plain = tree(build(write_profile, 'machine = "q35"\n'))
    assert plain.find("uuid") is None and plain.find("devices/tpm") is None
