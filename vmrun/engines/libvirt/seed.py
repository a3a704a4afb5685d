"""The cloud-init seed of a libvirt domain: made by `up` where libvirt runs on this host, removed by `down`.

The ISO is the qemu engine's (:mod:`vmrun.cloudinit`); only where it lives differs. libvirt's
QEMU is not vmrun's child and may run as another user (``libvirt-qemu``), and a test or
container libvirtd may have a /run of its own: so the seed goes to the VM's data folder
(``DATA/NAME/cidata.iso``, see :mod:`vmrun.datadir`), not to a run folder. The ISO stays 0600
(its user-data may hold secrets): libvirt gives it to its QEMU's user while the domain runs
(dynamic_ownership) and gives it back after. Only the folders above it get search permission
for others (0711: they can be passed through, not listed), as libvirt needs to reach it.

"Where libvirt runs on this host" is a URI without a host name (:func:`uris.host_of`):
``qemu:///system``, or the unix socket of ``qemu+unix:///system?socket=PATH``. On another host
this vmrun cannot write the file libvirt would open: NotSupported, in one line naming the key.
"""

from __future__ import annotations

import os
from pathlib import Path

from vmrun.engines.base import not_supported
from vmrun.engines.libvirt.uris import host_of
from vmrun.errors import FileError, VmrunError
from vmrun.profile.model import Profile

SEARCH = 0o011  # group and others may pass through (not list) the folders above the seed


def seed_path(name: str) -> Path | None:
    """Where the seed of VM ``name`` is (or would be); None if the data folder cannot be used."""
    from vmrun import datadir

    try:
        return datadir.for_vm(name, create=False) / "cidata.iso"
    except VmrunError:
        return None


def check(profile: Profile, uri: str) -> None:
    """NotSupported if the profile has a seed and libvirt at ``uri`` runs on another host."""
    host = host_of(uri)
    if profile.cloud_init is not None and host != "local":
        raise not_supported(
            profile.name,
            f"cloud_init on {host}",
            "libvirt",
            hint="vmrun writes the seed ISO only where libvirt runs on this host; "
            "make one there (label cidata) and give it as a cdrom drive",
        )


def make(profile: Profile, uri: str) -> Path | None:
    """The profile's seed ISO, made for libvirt at ``uri``; None without ``[cloud_init]``."""
    check(profile, uri)
    if profile.cloud_init is None:
        return None
    from vmrun import datadir
    from vmrun.cloudinit import make_seed
    from vmrun.sshkeys import with_ssh_key

    remove(profile.name)  # a seed that a domain which powered off by itself left
    folder = datadir.for_vm(profile.name)
    for path in (folder.parent, folder):
        try:
            os.chmod(path, os.stat(path).st_mode & 0o7777 | SEARCH)
        except OSError as e:
            raise FileError.from_os(e, path, doing="cannot let libvirt's QEMU through") from None
    try:
        return make_seed(with_ssh_key(profile), folder)
    except BaseException:
        remove(profile.name, quiet=True)
        raise


def remove(name: str, *, quiet: bool = False) -> None:
    """The seed and, if that leaves it empty, the VM's data folder (under libvirt vmrun keeps nothing else there);
    ``quiet``: after another error, which is the one to say."""
    path = seed_path(name)
    if path is None:
        return
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as e:
        if quiet:
            return
        raise FileError.from_os(e, path, doing="cannot remove") from None
    try:
        path.parent.rmdir()
    except OSError:
        pass  # not empty (or already gone): the folder is the VM's, not the seed's


def shown(profile: Profile, uri: str) -> tuple[str | None, list[str]]:
    """For `show --libvirt`: where `up` would put the seed, or why it would not."""
    if profile.cloud_init is None:
        return None, []
    try:
        check(profile, uri)
    except VmrunError as e:
        return None, [f"cloud_init: `up` refuses it ({e.message})"]
    path = seed_path(profile.name)
    if path is None:
        return None, ["cloud_init: the VM's data folder cannot be used, so the seed is left out here"]
    return str(path), []
