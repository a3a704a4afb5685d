"""The libvirt URIs vmrun remembers: a private daemon gone for good (its socket removed) is neither
asked by `ps` (one "cannot reach" line each, for ever) nor kept after `gc`."""

from __future__ import annotations

import socket

from vmrun.engines.libvirt import uris


def test_a_uri_whose_socket_is_gone_is_skipped_then_pruned(tmp_path, monkeypatch):
    monkeypatch.setenv("VMRUN_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.delenv("VMRUN_CONNECT", raising=False)
    live_sock = tmp_path / "live-sock"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(live_sock))
        live = f"qemu+unix:///system?socket={live_sock}"
        gone = f"qemu+unix:///system?socket={tmp_path / 'gone-sock'}"
        remote = "qemu+ssh://root@elsewhere/system"
        for uri in (uris.DEFAULT, live, gone, remote):
            uris.remember(uri)
        assert uris.in_use() == [uris.DEFAULT, live, remote]
        assert uris.in_use(gone) == [gone]  # asked for by name: asked
        assert uris.prune() == [gone]
        assert uris.recorded() == [uris.DEFAULT, live, remote]
        uris.forget(live)
        assert uris.recorded() == [uris.DEFAULT, remote]
        assert uris.prune() == []
