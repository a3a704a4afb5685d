"""``[cloud_init]`` written as a NoCloud seed ISO that `up` attaches as a CD-ROM (its checks: profile/cloud_init.py).

A cloud image boots a guest nobody can log into until cloud-init finds a
seed: a volume labelled ``cidata`` holding ``user-data`` (``#cloud-config``)
and ``meta-data`` (``instance-id``, ``local-hostname``). The seed is made in the
VM's run folder at each `up` (it goes with the folder at `down`); its
instance-id is a digest of its contents, so cloud-init runs its once-per-instance
steps again only when the seed changed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from vmrun.profile.model import CloudInit, Profile

SEED = "cidata.iso"
LABEL = "cidata"  # NoCloud looks for a file system with this label


def user_data(c: CloudInit) -> str:
    if c.user_data is not None:
        return c.user_data
    q = json.dumps  # a JSON string is a YAML string: any key or name is quoted safely
    lines = ["#cloud-config", "# written by vmrun from the profile's [cloud_init]"]
    if c.user:
        lines += [
            "users:",
            "  - default",
            f"  - name: {q(c.user)}",
            '    sudo: "ALL=(ALL) NOPASSWD:ALL"',
            *([] if _image_default(c.user) else ["    shell: /bin/bash"]),
            "    lock_passwd: true",
            "    ssh_authorized_keys:",
        ]
        lines += [f"      - {q(k)}" for k in c.ssh_authorized_keys]
    elif c.ssh_authorized_keys:
        lines += ["ssh_authorized_keys:", *(f"  - {q(k)}" for k in c.ssh_authorized_keys)]
    return "\n".join(lines) + "\n"


def _image_default(user: str) -> bool:
    """A cloud image's default user (debian, alpine...: the image catalogue's) keeps the shell its image gives it:
    cloud-init merges this entry into that user, and Alpine's images have no /bin/bash to log in with."""
    from vmrun.images.catalogue import default_users

    return user in default_users()


def meta_data(c: CloudInit, vm_name: str) -> str:
    digest = hashlib.sha256(f"{user_data(c)}\0{c.hostname}".encode()).hexdigest()[:12]
    return f"instance-id: vmrun-{vm_name}-{digest}\nlocal-hostname: {c.hostname}\n"


def seed_path(run_folder: Path) -> Path:
    return run_folder / SEED


def make_seed(profile: Profile, run_folder: Path) -> Path:
    """Write the seed ISO into the VM's run folder (made by `up`, removed by `down`); returns its path."""
    from vmrun.adapters.iso import make_iso

    assert profile.cloud_init is not None
    staging = run_folder / "cidata"
    staging.mkdir(mode=0o700)
    try:
        for name, text in (
            ("user-data", user_data(profile.cloud_init)),
            ("meta-data", meta_data(profile.cloud_init, profile.name)),
        ):
            (staging / name).write_text(text)
        out = seed_path(run_folder)
        make_iso(out, LABEL, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out
