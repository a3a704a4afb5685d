"""The libvirt URIs vmrun has started domains on, remembered client-side so that `ps` and `down` find them.

One JSON list in the runtime folder (``libvirt-uris.json``), changed under its
own lock. With ``-c URI`` and ``$VMRUN_CONNECT`` these are where vmrun looks
for a VM that has no run folder on this host.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable

from vmrun.errors import FileError
from vmrun.files import replace_file
from vmrun.rundir import runtime_root

DEFAULT = "qemu:///system"
FILE = "libvirt-uris.json"


def host_of(uri: str) -> str:
    """The host a libvirt URI names; "local" for this one."""
    from urllib.parse import urlparse

    return urlparse(uri).hostname or "local"


def default_uri() -> str:
    """The URI of a libvirt-engine profile that names none: ``$VMRUN_CONNECT``, else the local system daemon."""
    return os.environ.get("VMRUN_CONNECT") or DEFAULT


def recorded() -> list[str]:
    path = runtime_root() / FILE
    try:
        st = path.lstat()
        if st.st_uid != os.geteuid():
            return []  # not written by us: not followed
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return [u for u in data if isinstance(u, str)] if isinstance(data, list) else []


def socket_gone(uri: str) -> bool:
    """A URI naming its daemon's unix socket (``?socket=PATH``) whose socket no longer exists: that
    daemon is gone for good (a private libvirtd stopped), not merely down."""
    from urllib.parse import parse_qs, urlparse

    parsed = urlparse(uri)
    path = parse_qs(parsed.query).get("socket", [None])[0]
    return host_of(uri) == "local" and path is not None and not os.path.exists(path)


def in_use(connect: str | None = None) -> list[str]:
    """Where to look: ``connect`` alone if given, else what was recorded (but daemons gone for good)
    plus ``$VMRUN_CONNECT``."""
    if connect:
        return [connect]
    uris = [u for u in recorded() if not socket_gone(u)]
    if os.environ.get("VMRUN_CONNECT") and os.environ["VMRUN_CONNECT"] not in uris:
        uris.append(os.environ["VMRUN_CONNECT"])
    return uris


def prune() -> list[str]:
    """Forget the recorded URIs whose daemon is gone for good (`gc`); the ones forgotten."""
    gone = [u for u in recorded() if socket_gone(u)]
    if gone:
        _change(lambda uris: [u for u in uris if u not in gone])
    return gone


def forget(uri: str) -> None:
    if uri in recorded():
        _change(lambda uris: [u for u in uris if u != uri])


def remember(uri: str, *, forget: str | None = None) -> None:
    def change(uris: list[str]) -> list[str]:
        uris = [u for u in uris if u != forget]
        return uris if uri in uris else [*uris, uri]

    _change(change)


def _change(change: Callable[[list[str]], list[str]]) -> None:
    root = runtime_root()
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(root / f".{FILE}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    except OSError as e:
        raise FileError.from_os(e, doing="cannot write") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        replace_file(root / FILE, json.dumps(change(recorded()), indent=2), mode=0o600)
    finally:
        os.close(fd)
