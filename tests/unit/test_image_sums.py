"""Checksum files (GNU, BSD, a hash alone, signed wrappers) and the image catalogue as data."""

from __future__ import annotations

import hashlib
import tomllib
from urllib.parse import urlsplit

import pytest

from vmrun.images import catalogue, sums
from vmrun.images.pull import default_name, file_name

A256, B256 = hashlib.sha256(b"a").hexdigest(), hashlib.sha256(b"b").hexdigest()
A512 = hashlib.sha512(b"a").hexdigest()


def test_gnu_lines_text_and_binary_mode():
    text = f"{A256}  debian.qcow2\n{B256} *ubuntu.img\n\n"
    assert sums.parse(text, "SHA256SUMS") == {"debian.qcow2": ("sha256", A256), "ubuntu.img": ("sha256", B256)}


def test_bsd_lines_inside_a_clear_signature_with_comments():
    text = (
        "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n"
        "# Fedora-Cloud-Base-Generic-44-1.7.x86_64.qcow2: 123 bytes\n"
        f"SHA256 (Fedora-Cloud-Base-Generic-44-1.7.x86_64.qcow2) = {A256.upper()}\n"
        f"SHA512 (other.raw.xz) = {A512}\n"
        "-----BEGIN PGP SIGNATURE-----\n\niQIzBAEBCAAdFiEE\n-----END PGP SIGNATURE-----\n"
    )
    assert sums.parse(text, "Fedora-Cloud-44-1.7-x86_64-CHECKSUM") == {
        "Fedora-Cloud-Base-Generic-44-1.7.x86_64.qcow2": ("sha256", A256),
        "other.raw.xz": ("sha512", A512),
    }


def test_the_algorithm_from_the_file_name_else_the_length():
    assert sums.parse(f"{A512}  x.qcow2\n", "SHA512SUMS") == {"x.qcow2": ("sha512", A512)}
    assert sums.parse(f"{A512}  x.qcow2\n", "CHECKSUMS") == {"x.qcow2": ("sha512", A512)}
    assert sums.parse(f"{A256}  x.qcow2\n", "sums.txt") == {"x.qcow2": ("sha256", A256)}
    # An md5 or sha1 line is not one vmrun trusts; a line whose length disagrees with the name is skipped.
    assert sums.parse(f"{hashlib.md5(b'a').hexdigest()}  x.qcow2\n", "MD5SUMS") == {}
    assert sums.parse(f"{A256}  x.qcow2\n", "SHA512SUMS") == {"x.qcow2": ("sha256", A256)}


def test_a_hash_alone_is_the_file_its_checksum_file_is_named_after():
    entries = sums.parse(A512 + "\n", "nocloud_alpine-3.23.4-x86_64-bios-cloudinit-r0.qcow2.sha512")
    assert entries == {"nocloud_alpine-3.23.4-x86_64-bios-cloudinit-r0.qcow2": ("sha512", A512)}


def test_lookup_by_name_and_a_per_file_checksum_naming_the_versioned_build():
    entries = sums.parse(f"{A256}  ./images/x.qcow2\n{B256}  y.qcow2\n", "SHA256SUMS")
    assert sums.lookup(entries, "x.qcow2", "SHA256SUMS") == ("sha256", A256)
    with pytest.raises(sums.SumsError, match=r"does not list z.qcow2 \(it lists x.qcow2, y.qcow2\)"):
        sums.lookup(entries, "z.qcow2", "SHA256SUMS")
    # openSUSE's Tumbleweed-Minimal-VM.x86_64-Cloud.qcow2.sha256 names today's snapshot file
    one = sums.parse(f"{A256}  T-Minimal-VM.x86_64-1.0.0-Cloud-Snapshot20261201.qcow2\n", "T.qcow2.sha256")
    assert sums.lookup(one, "T.qcow2", "T.qcow2.sha256") == ("sha256", A256)
    with pytest.raises(sums.SumsError, match="does not list"):
        sums.lookup(one, "T.qcow2", "SHA256SUMS")  # a list of many files is never guessed from
    with pytest.raises(sums.SumsError, match="holds no sha256 or sha512 line"):
        sums.lookup(sums.parse("<html>not found</html>", "SHA256SUMS"), "x.qcow2", "SHA256SUMS")


def test_a_typed_digest():
    assert sums.check_digest("sha256", A256.upper() + "\n") == ("sha256", A256)
    with pytest.raises(sums.SumsError, match="is not a sha512 digest: 128 hex digits"):
        sums.check_digest("sha512", A256)
    with pytest.raises(sums.SumsError):
        sums.check_digest("sha256", "z" * 64)


def test_names_from_urls():
    assert (
        file_name("https://h/a/b/ubuntu-24.04-server-cloudimg-amd64.img?x=1")
        == "ubuntu-24.04-server-cloudimg-amd64.img"
    )
    assert default_name("https://h/ubuntu-24.04-server-cloudimg-amd64.img") == "ubuntu-24.04-server-cloudimg-amd64"
    assert default_name("https://h/debian-12-genericcloud-amd64.qcow2") == "debian-12-genericcloud-amd64"


def test_every_catalogue_entry_has_an_image_a_checksum_file_and_a_user():
    raw = tomllib.loads(catalogue.FILE.read_text())
    assert set(raw) == set(catalogue.entries())  # no dotted name read as a nested table
    assert len(raw) >= 8
    for name, e in catalogue.entries().items():
        assert set(raw[name]) == set(catalogue.FIELDS), name
        for url in (e.url, e.sums):
            parts = urlsplit(url)
            assert parts.scheme == "https" and parts.netloc and parts.path.startswith("/"), (name, url)
        assert e.file_name.endswith((".qcow2", ".img")), name
        assert e.sums_format in ("gnu", "bsd"), name
        assert e.user and e.user != "root", name
        assert e.description, name
        assert e.sums.rsplit("/", 1)[0] == e.url.rsplit("/", 1)[0], name  # published beside the image
    families = {n.split("-")[0] for n in catalogue.entries()}
    assert families >= {"debian", "ubuntu", "fedora", "alpine", "arch", "opensuse"}
    assert {"debian-12", "debian-13", "ubuntu-22.04", "ubuntu-24.04"} <= set(catalogue.entries())


def test_the_mirror_keeps_host_and_path():
    url = "https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS"
    assert catalogue.mirrored(url, "") == url
    assert (
        catalogue.mirrored(url, "http://mirror.lan/vmrun/")
        == "http://mirror.lan/vmrun/cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS"
    )
    assert catalogue.mirrored(url, "file:///srv/m").startswith("file:///srv/m/cloud.debian.org/images/")


def test_the_default_users_keep_their_images_shell(tmp_path):
    """cloud-init merges [cloud_init] user = <the image's default user> into that user: no /bin/bash forced
    on it (Alpine has none); any other user gets bash as before."""
    from vmrun import cloudinit
    from vmrun.profile.model import CloudInit

    key = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB",)
    assert "shell:" not in cloudinit.user_data(CloudInit("h", "alpine", key))
    assert "shell: /bin/bash" in cloudinit.user_data(CloudInit("h", "alice", key))
