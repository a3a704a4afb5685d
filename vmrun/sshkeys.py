"""The ssh key pair vmrun logs into guests with, and where it keeps known host keys.

The user's key comes first: ``~/.ssh/id_ed25519.pub``, then the other ``~/.ssh/*.pub`` in name order
(`vmrun new --image` writes it into a profile's seed; `vmrun ssh` wants its private half beside it).
With none, vmrun makes a pair of its own in its data folder, once. Every seed vmrun makes carries the
key `vmrun ssh` uses (:func:`with_ssh_key`).
"""

from __future__ import annotations

import dataclasses
import subprocess
from dataclasses import dataclass
from pathlib import Path

from vmrun.errors import FileError, StateError
from vmrun.profile.model import Profile


@dataclass(frozen=True)
class Identity:
    private: Path
    public: str  # the public key line


def public_key(ssh_dir: Path | None = None) -> tuple[Path, str] | None:
    """The user's public key: id_ed25519.pub first, then the other *.pub files in name order."""
    from vmrun.profile.cloud_init import parse_key

    folder = ssh_dir or Path.home() / ".ssh"
    try:
        others = sorted(p for p in folder.glob("*.pub") if p.name != "id_ed25519.pub")
    except OSError:
        return None
    for path in [folder / "id_ed25519.pub", *others]:
        try:
            return path, parse_key(path.read_text().strip().splitlines()[0])
        except (OSError, ValueError, IndexError, UnicodeDecodeError):
            continue
    return None


def ssh_folder() -> Path:
    from vmrun import datadir

    return datadir.data_root() / "ssh"


def identity(ssh_dir: Path | None = None) -> Identity:
    """The user's key (one whose private half is beside its .pub), else vmrun's own, made on first use."""
    found = public_key(ssh_dir)
    if found is not None and found[0].with_suffix("").is_file():
        return Identity(found[0].with_suffix(""), found[1])
    own = ssh_folder() / "id_ed25519"
    if not own.is_file():
        _make_key(own)
    return Identity(own, own.with_suffix(".pub").read_text().strip())


def _make_key(path: Path) -> None:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as e:
        raise FileError.from_os(e, path.parent, doing="cannot create") from None
    argv = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "vmrun", "-f", str(path)]
    try:
        subprocess.run(argv, check=True, capture_output=True, text=True)
    except FileNotFoundError:
        raise StateError("ssh-keygen is not installed", hint="apt install openssh-client") from None
    except subprocess.CalledProcessError as e:
        raise StateError(f"ssh-keygen could not make {path}: {e.stderr.strip()}") from None


def with_ssh_key(profile: Profile) -> Profile:
    """The profile with the key `vmrun ssh` uses among its ``[cloud_init] ssh_authorized_keys`` (unless a whole
    ``user_data`` replaces what vmrun writes): every seed lets `vmrun ssh` in."""
    c = profile.cloud_init
    if c is None or c.user_data is not None:
        return profile
    key = identity().public
    if any(k.split()[:2] == key.split()[:2] for k in c.ssh_authorized_keys):
        return profile
    return dataclasses.replace(
        profile, cloud_init=dataclasses.replace(c, ssh_authorized_keys=(*c.ssh_authorized_keys, key))
    )
