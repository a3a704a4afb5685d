"""The profile `vmrun new NAME --image N` writes: a qcow2 overlay on the cached image N as its first disk
(made by the first `up`, in the VM's data folder; the image never written), a cloud-init seed giving the
user's public key to the image's default user, and a user NIC forwarding a free loopback port to 22.

The key is ``~/.ssh/id_ed25519.pub``, else the first other ``~/.ssh/*.pub`` that is a public key;
with none, the seed gets no key (said in a notice, and in the profile).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path

from vmrun.errors import ProfileError, UsageError
from vmrun.images import store
from vmrun.sshkeys import public_key

DEFAULT_SIZE = 20 * 1024**3
PORTS = range(2222, 2400)


@dataclass
class Made:
    path: Path
    disk: Path
    port: int
    key_file: Path | None
    user: str | None
    notices: list[str] = field(default_factory=list)


def free_port() -> int:
    """A loopback port from 2222 up that no profile on the path forwards and that nothing listens on now."""
    from vmrun.imageusers import profiles_on_path

    taken = {f.host_port for _, p in profiles_on_path() for _, f in p.forwards}
    for port in PORTS:
        if port in taken:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise ProfileError(f"no free loopback port in {PORTS.start}-{PORTS.stop - 1} for the ssh forward")


def _size(image_bytes: int) -> str:
    """The disk's size: 20G, or the image's own size (in whole GiB, rounded up) if that is larger."""
    gib = max(DEFAULT_SIZE, image_bytes + 1024**3 - 1) // 1024**3
    return f"{gib}G"


def new(name: str, image: str, folder: Path | None = None) -> Made:
    """Write the profile ``name`` for a VM on the cached image ``image``; refused if either is wrong."""
    from vmrun import datadir
    from vmrun.profile import template
    from vmrun.profile.cloud_init import default_hostname
    from vmrun.profile.paths import home_folder
    from vmrun.profiles import _check_new_name, _write_new, validate

    store.check_name(image, option="--image")
    record = store.find(image)
    if record is None:
        raise UsageError(
            f"no image {image!r} in the cache ({store.image_dir()})",
            option="--image",
            hint=f"vmrun image pull {image} first (vmrun image list shows what is there)",
        )
    _check_new_name(name)
    path = (folder or home_folder()) / f"{name}.toml"
    disk = datadir.for_vm(name, create=False) / "disk.qcow2"
    if disk.exists():
        raise ProfileError(
            f"{disk} exists (a disk of an earlier VM named {name}): the new VM would boot it",
            hint=f"remove it if it is no longer needed, or choose another name than {name}",
        )
    found = public_key()
    made = Made(path, disk, free_port(), found[0] if found else None, record.user)
    text = template.render_image(
        name,
        image=image,
        backing=str(record.file),
        disk=str(disk),
        size=_size(record.virtual_size),
        hostname=default_hostname(name),
        user=record.user,
        key=found[1] if found else None,
        port=made.port,
    )
    validate(text, path)
    datadir.for_vm(name)  # the disk's folder: qemu-img makes the overlay in it at the first `up`
    _write_new(path, text)
    if found is None:
        made.notices.append(
            f"no public key in {Path.home() / '.ssh'} (id_ed25519.pub, *.pub): nobody can log into {name} yet; "
            f"make one (ssh-keygen -t ed25519) and put it into {path} ([cloud_init] ssh_authorized_keys)"
        )
    elif record.user is None:
        made.notices.append(
            f"{image} was pulled by URL: its default user is not known; the key goes to it, and vmrun ssh -l USER logs in"
        )
    return made
