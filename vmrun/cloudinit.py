"""``[cloud_init]``: checked field by field, then written as a NoCloud seed ISO that `up` attaches as a CD-ROM.

A cloud image boots a guest nobody can log into until cloud-init finds a
seed: a volume labelled ``cidata`` holding ``user-data`` (``#cloud-config``)
and ``meta-data`` (``instance-id``, ``local-hostname``). The seed is made in the
VM's run folder at each `up` (it goes with the folder at `down`); its
instance-id is a digest of its contents, so cloud-init runs its once-per-instance
steps again only when the seed changed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

from vmrun.profile.model import CloudInit, Profile

SEED = "cidata.iso"
LABEL = "cidata"  # NoCloud looks for a file system with this label
KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ssh-dss", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
             "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com")  # fmt: skip
_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}\Z")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*\Z")
# What cloud-init takes as user data: cloud-config, a script, an include list, a boothook, or MIME multipart.
USER_DATA_HEADERS = ("#cloud-config", "#!", "#include", "#cloud-boothook", "Content-Type:")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def parse_user(value: str) -> str:
    if not _USER.match(value):
        raise ValueError(f"{value!r} is not a user name: a lower-case letter or '_' first, then a-z, 0-9, '_', '-', "
                         "at most 32")  # fmt: skip
    if value == "root":
        raise ValueError("'root' is not made by cloud-init; leave user out to give the keys to the image's default user")
    return value


def parse_hostname(value: str) -> str:
    if len(value) > 253 or not _HOSTNAME.match(value):
        raise ValueError(f"{value!r} is not a host name: dot-separated labels of letters, digits and '-'")
    return value


def parse_key(value: str) -> str:
    """One public key as in authorized_keys: type, base64 blob (whose own type must agree), optional comment."""
    kind, _, rest = value.strip().partition(" ")
    blob, _, _comment = rest.strip().partition(" ")
    if kind not in KEY_TYPES:
        raise ValueError(f"{value[:40]!r}... is not a public key: it must start with a key type such as ssh-ed25519 "
                         "(options before the type are not taken)")  # fmt: skip
    try:
        raw = base64.b64decode(blob, validate=True)
        length = int.from_bytes(raw[:4], "big")
        inner = raw[4 : 4 + length].decode()
    except (ValueError, UnicodeDecodeError):
        raise ValueError(f"{kind} key: its data is not valid base64 (a copy cut short?)") from None
    if inner != kind:
        raise ValueError(f"{kind} key: its data says it is {inner[:40]!r}, not {kind}")
    return value.strip()


def parse_table(t: Any, vm_name: str) -> CloudInit:
    """The ``[cloud_init]`` table (a load.Table); every error names the file and the field."""
    from vmrun.profile.load import _parse_list  # a list of strings, each parsed, errors naming the item

    user_data = _user_data(t)
    keys = tuple(_parse_list(t, "ssh_authorized_keys", parse_key))
    cloud = CloudInit(
        hostname=t.parsed("hostname", parse_hostname, default=_default_hostname(vm_name)),
        user=t.parsed("user", parse_user),
        ssh_authorized_keys=keys,
        user_data=user_data,
    )
    if user_data is not None:
        for key in ("user", "ssh_authorized_keys"):
            if key in t.data:
                raise t.error(key, "user_data replaces the generated user-data, so this would be ignored",
                              hint="write it into user_data, or drop user_data to have vmrun generate it")  # fmt: skip
    if cloud.user and not keys:
        raise t.error("user", "has no ssh_authorized_keys: nobody could log in as it (its password is locked)")
    t.reject_unknown()
    return cloud


def _default_hostname(vm_name: str) -> str:
    """The VM's name, with what a host name cannot hold ('_', '.') turned to '-', cut to one label (63)."""
    return re.sub(r"[^A-Za-z0-9-]", "-", vm_name)[:63].strip("-") or "vm"


def _user_data(t: Any) -> str | None:
    """Raw user data: several lines, so not through Table.get's one-line check; other control characters refused."""
    t.used.add("user_data")
    value = t.data.get("user_data")
    if value is None:
        return None
    if not isinstance(value, str):
        raise t.error("user_data", f"expected a string (a multi-line '''...''' string), got {value!r:.40}")
    if m := _CONTROL_BUT_LINES.search(value):
        raise t.error("user_data", f"contains a control character (U+{ord(m.group()):04X})")
    if not value.lstrip().startswith(USER_DATA_HEADERS):
        raise t.error("user_data", "cloud-init would ignore it: it must begin with #cloud-config (or #!, #include, "
                      "#cloud-boothook, Content-Type:)")  # fmt: skip
    return value.lstrip() if value.endswith("\n") else value.lstrip() + "\n"


def user_data(c: CloudInit) -> str:
    if c.user_data is not None:
        return c.user_data
    q = json.dumps  # a JSON string is a YAML string: any key or name is quoted safely
    lines = ["#cloud-config", "# written by vmrun from the profile's [cloud_init]"]
    if c.user:
        lines += ["users:", "  - default", f"  - name: {q(c.user)}", '    sudo: "ALL=(ALL) NOPASSWD:ALL"',
                  "    shell: /bin/bash", "    lock_passwd: true", "    ssh_authorized_keys:"]  # fmt: skip
        lines += [f"      - {q(k)}" for k in c.ssh_authorized_keys]
    elif c.ssh_authorized_keys:
        lines += ["ssh_authorized_keys:", *(f"  - {q(k)}" for k in c.ssh_authorized_keys)]
    return "\n".join(lines) + "\n"


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
        for name, text in (("user-data", user_data(profile.cloud_init)), ("meta-data", meta_data(profile.cloud_init, profile.name))):
            (staging / name).write_text(text)
        out = seed_path(run_folder)
        make_iso(out, LABEL, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out
