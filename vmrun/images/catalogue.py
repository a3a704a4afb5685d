"""The catalogue of cloud images vmrun knows by name (``catalogue.toml`` beside this file: data, not code).

``$VMRUN_IMAGE_MIRROR=BASE`` fetches a catalogue image, and its checksum file, from
``BASE/HOST/PATH`` instead of ``https://HOST/PATH``: one mirror for every distribution,
laid out as ``wget --force-directories`` (or ``wget -m``) saves the originals. URLs given
on the command line are never rewritten.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

FILE = Path(__file__).with_name("catalogue.toml")
MIRROR_VAR = "VMRUN_IMAGE_MIRROR"
FIELDS = ("description", "url", "sums", "sums_format", "user")


@dataclass(frozen=True)
class Entry:
    name: str
    description: str
    url: str
    sums: str
    sums_format: str  # "gnu" or "bsd" (documentation: the parser reads both)
    user: str  # the image's default user

    @property
    def file_name(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, **{f: getattr(self, f) for f in FIELDS}}


@cache
def entries() -> dict[str, Entry]:
    """Every image of the catalogue by name, in the file's order."""
    data = tomllib.loads(FILE.read_text())
    return {name: Entry(name, **{f: table[f] for f in FIELDS}) for name, table in data.items()}


def find(name: str) -> Entry | None:
    return entries().get(name)


def default_users() -> frozenset[str]:
    """The catalogue images' default users: each keeps the login shell its image gives it (Alpine has no bash)."""
    return frozenset(e.user for e in entries().values())


def mirrored(url: str, mirror: str | None = None) -> str:
    """``url`` as fetched through ``$VMRUN_IMAGE_MIRROR`` (or ``mirror``), if one is set."""
    base = mirror if mirror is not None else os.environ.get(MIRROR_VAR, "")
    if not base:
        return url
    parts = urlsplit(url)
    return f"{base.rstrip('/')}/{parts.netloc}{parts.path}"
