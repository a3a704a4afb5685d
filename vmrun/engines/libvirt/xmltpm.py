"""The domain XML's <tpm> and the stable <uuid> it needs (a part of :class:`vmrun.engines.libvirt.xml._Build`).

libvirt runs swtpm itself and keeps its state by the domain's uuid (``/var/lib/libvirt/swtpm/UUID``);
``persistent_state='yes'`` keeps it when a transient domain ends. A domain vmrun creates again at
every `up` would get a new uuid each time, and a new, empty TPM: so a domain with a TPM gets a
uuid derived from the VM's name alone, the same at every `up`, on every host it migrates to.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

from vmrun.argv import tpm_model
from vmrun.engines.libvirt.xmlbase import sub

# vmrun's own namespace for name-based uuids: fixed for good, or every VM's TPM state is lost.
UUID_NAMESPACE = uuid.UUID("4f7c0221-18d0-415d-b8bd-fcb851f53eb1")


def domain_uuid(name: str) -> str:
    return str(uuid.uuid5(UUID_NAMESPACE, name))


class TpmXml:
    def uuid(self, root: ET.Element) -> None:
        """Only for a domain with a TPM: a uuid libvirt did not choose clashes with a domain of that
        name defined before (`up --persist`) with libvirt's own."""
        if self.p.tpm is not None:
            sub(root, "uuid", domain_uuid(self.p.name))

    def tpm(self, devices: ET.Element) -> None:
        t = self.p.tpm
        if t is None:
            return
        tpm = sub(devices, "tpm", model=tpm_model(self.p))
        sub(tpm, "backend", type="emulator", version=t.version.value, persistent_state="yes")
