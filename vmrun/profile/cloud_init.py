"""The values of ``[cloud_init]`` checked one by one: user, host name, public keys, raw user data.

What they become (the NoCloud seed) is written by vmrun/cloudinit.py; the checks
live here, with the other profile values, so the profile never imports the seed.
"""

from __future__ import annotations

import re

KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ssh-dss",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)
_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}\Z")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*\Z")
# What cloud-init takes as user data: cloud-config, a script, an include list, a boothook, or MIME multipart.
USER_DATA_HEADERS = ("#cloud-config", "#!", "#include", "#cloud-boothook", "Content-Type:")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def parse_user(value: str) -> str:
    if not _USER.match(value):
        raise ValueError(
            f"{value!r} is not a user name: a lower-case letter or '_' first, then a-z, 0-9, '_', '-', at most 32"
        )
    if value == "root":
        raise ValueError(
            "'root' is not made by cloud-init; leave user out to give the keys to the image's default user"
        )
    return value


def parse_hostname(value: str) -> str:
    if len(value) > 253 or not _HOSTNAME.match(value):
        raise ValueError(f"{value!r} is not a host name: dot-separated labels of letters, digits and '-'")
    return value


def parse_key(value: str) -> str:
    """One public key as in authorized_keys: type, base64 blob (whose own type must agree), optional comment."""
    import base64  # here, not at the top: only a profile with keys needs it

    kind, _, rest = value.strip().partition(" ")
    blob, _, _comment = rest.strip().partition(" ")
    if kind not in KEY_TYPES:
        raise ValueError(
            f"{value[:40]!r}... is not a public key: it must start with a key type such as ssh-ed25519 "
            "(options before the type are not taken)"
        )
    try:
        raw = base64.b64decode(blob, validate=True)
        length = int.from_bytes(raw[:4], "big")
        inner = raw[4 : 4 + length].decode()
    except (ValueError, UnicodeDecodeError):
        raise ValueError(f"{kind} key: its data is not valid base64 (a copy cut short?)") from None
    if inner != kind:
        raise ValueError(f"{kind} key: its data says it is {inner[:40]!r}, not {kind}")
    return value.strip()


def parse_user_data(value: str) -> str:
    """Raw user data: several lines, so tabs and newlines pass; other control characters do not."""
    if m := _CONTROL_BUT_LINES.search(value):
        raise ValueError(f"contains a control character (U+{ord(m.group()):04X})")
    if not value.lstrip().startswith(USER_DATA_HEADERS):
        raise ValueError(
            "cloud-init would ignore it: it must begin with #cloud-config (or #!, #include, "
            "#cloud-boothook, Content-Type:)"
        )
    return value.lstrip() if value.endswith("\n") else value.lstrip() + "\n"


def default_hostname(vm_name: str) -> str:
    """The VM's name, with what a host name cannot hold ('_', '.') turned to '-', cut to one label (63)."""
    return re.sub(r"[^A-Za-z0-9-]", "-", vm_name)[:63].strip("-") or "vm"
