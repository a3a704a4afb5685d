"""The domain XML's ``<filesystem>`` elements and the shared memory virtiofs needs (a part of
:class:`vmrun.engines.libvirt.xml._Build`).

libvirt starts a virtiofsd per virtiofs ``<filesystem>`` itself (found through QEMU's vhost-user
descriptors, ``/usr/share/qemu/vhost-user/*.json``) and needs the guest's memory shared with it:
``<memoryBacking>`` with a memfd source and shared access, as the qemu engine's
``memory-backend-memfd,share=on``. libvirt 9.0 cannot make a virtiofs share read-only (its
``<readonly/>`` is refused for virtiofs): that is NotSupported here, where the qemu engine gives its
virtiofsd a read-only view. 9p is ``accessmode='mapped'`` (QEMU's ``security_model=mapped-xattr``,
as on the qemu engine) and honours ``<readonly/>``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from vmrun.engines.base import not_supported
from vmrun.engines.libvirt.xmlbase import sub
from vmrun.profile.model import ShareType


class ShareXml:
    def share_memory(self, root: ET.Element) -> None:
        """Only with a virtiofs share: the guest's RAM in a memfd, shared (with libvirt's virtiofsd)."""
        if not any(s.type is ShareType.VIRTIOFS for s in self.p.shares):
            return
        backing = root.find("memoryBacking")
        if backing is None:
            backing = ET.Element("memoryBacking")
            root.insert(list(root).index(root.find("memory")) + 1, backing)
        sub(backing, "source", type="memfd")
        sub(backing, "access", mode="shared")

    def filesystems(self, devices: ET.Element) -> None:
        for i, share in enumerate(self.p.shares):
            if share.type is ShareType.VIRTIOFS:
                if share.readonly:
                    raise not_supported(
                        self.p.name,
                        f"shares[{i}].readonly with virtiofs",
                        "libvirt",
                        hint='libvirt 9.0 has no read-only virtiofs: type = "9p" honours readonly, '
                        "as does the qemu engine",
                    )
                fs = sub(devices, "filesystem", type="mount", accessmode="passthrough")
                sub(fs, "driver", type="virtiofs")
            else:
                fs = sub(devices, "filesystem", type="mount", accessmode="mapped")
            sub(fs, "source", dir=share.source)
            sub(fs, "target", dir=share.tag)
            if share.readonly:
                sub(fs, "readonly")
