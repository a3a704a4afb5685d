"""`vmrun image pull|list|rm` against a local HTTP server in the test's own network namespace
(tests/imageserver.py: byte ranges, and a connection cut or stalled on demand); vmrun runs in it too.

The images are small real qcow2 files made with qemu-img; nothing reaches the internet.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, vmrun_bin

pytestmark = pytest.mark.root

PORT = 8080
CUT = 1_000_000


@pytest.fixture(scope="module")
def qcow2(tmp_path_factory) -> Path:
    """A 3 MiB qcow2 of random data (qemu-img convert of a raw file): large enough to cut mid-way."""
    folder = tmp_path_factory.mktemp("img")
    raw, out = folder / "data.raw", folder / "tiny.qcow2"
    raw.write_bytes(os.urandom(3 * 1024 * 1024))
    subprocess.run(["qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", str(raw), str(out)], check=True)
    return out


class Server:
    def __init__(self, netns, root: Path, folder: Path) -> None:
        self.netns, self.root = netns, root
        self.control, self.log = folder / "control.json", folder / "requests.log"
        self.base = f"http://127.0.0.1:{PORT}"
        self.proc = netns.popen(
            sys.executable, "-m", "tests.imageserver", str(root), str(PORT), str(self.control), str(self.log), cwd=REPO
        )
        deadline = time.monotonic() + 10
        while netns.run("curl", "-s", "-o", "/dev/null", f"{self.base}/").returncode != 0:
            assert time.monotonic() < deadline, "the test HTTP server did not start"
            time.sleep(0.1)

    def put(self, rel: str, data: bytes) -> str:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return f"{self.base}/{rel}"

    def faults(self, **ctl) -> None:
        self.control.write_text(json.dumps(ctl))

    def requests(self, name: str) -> list[dict]:
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return [r for r in map(json.loads, lines) if r["path"].endswith(name)]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def server(netns, tmp_path):
    s = Server(netns, tmp_path / "www", tmp_path)
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def vmrun(netns):
    """vmrun inside the test's namespace, with this test's private config, data and image folders."""

    def run(*args: str, env: dict | None = None, timeout: float = 120):
        return netns.run(vmrun_bin(), *args, env={**os.environ, **(env or {})}, timeout=timeout)

    return run


def images() -> Path:
    return Path(os.environ["VMRUN_IMAGE_DIR"])


def sha(data: bytes, algo: str = "sha256") -> str:
    return hashlib.new(algo, data).hexdigest()


def one_line_error(r, code: int) -> str:
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.splitlines()
    errors = [i for i, line in enumerate(lines) if line.startswith("vmrun: error: ")]
    assert len(errors) == 1, r.stderr  # before it, only the download's own start line (stderr is no terminal)
    assert all(more.startswith("  hint: ") for more in lines[errors[0] + 1 :]), r.stderr
    assert "Traceback" not in r.stderr
    return r.stderr


def test_pull_with_sha256_then_list_json(server, vmrun, qcow2):
    data = qcow2.read_bytes()
    url = server.put("pub/tiny.qcow2", data)
    r = vmrun("image", "pull", url, "--sha256", sha(data))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"pulled tiny: {images() / 'tiny'} (")
    assert (images() / "tiny").read_bytes() == data
    assert sorted(os.listdir(images())) == ["tiny", "tiny.json"]

    r = vmrun("image", "list", "--json")
    assert r.returncode == 0, r.stderr
    [shown] = json.loads(r.stdout)
    assert shown["name"] == "tiny" and shown["file"] == str(images() / "tiny") and shown["partial"] is False
    assert (shown["format"], shown["virtual_size"], shown["size"]) == ("qcow2", 3 * 1024 * 1024, len(data))
    assert (shown["algorithm"], shown["digest"], shown["verified_by"]) == ("sha256", sha(data), "--sha256")
    assert shown["url"] == url and shown["user"] is None

    # A second pull of the same name keeps the verified image as it is.
    r = vmrun("image", "pull", url, "--sha256", sha(data))
    assert r.returncode == 0 and "in the cache already" in r.stderr
    assert len(server.requests("tiny.qcow2")) == 1


GNU = "{other}  other.qcow2\n{digest} *{name}\n"
BSD = (
    "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n"
    "# {name}: 3342336 bytes\nSHA256 ({name}) = {digest}\nSHA256 (other.qcow2) = {other}\n"
    "-----BEGIN PGP SIGNATURE-----\n\nwsFzBAEBCAAdFiEE\n-----END PGP SIGNATURE-----\n"
)


@pytest.mark.parametrize(
    ("sums_name", "shape", "algo"),
    [("SHA256SUMS", GNU, "sha256"), ("SHA512SUMS", GNU, "sha512"), ("Fedora-Cloud-CHECKSUM", BSD, "sha256")],
)
def test_pull_with_a_sums_file(server, vmrun, qcow2, sums_name, shape, algo):
    data = qcow2.read_bytes()
    url = server.put("rel/img-1.qcow2", data)
    other = sha(b"other", algo)
    sums = server.put(
        f"rel/{sums_name}", shape.format(name="img-1.qcow2", digest=sha(data, algo), other=other).encode()
    )
    r = vmrun("image", "pull", url, "--sums", sums, "--name", "mine")
    assert r.returncode == 0, r.stderr
    record = json.loads((images() / "mine.json").read_text())
    assert (record["algorithm"], record["digest"], record["verified_by"]) == (algo, sha(data, algo), sums)


def test_a_wrong_checksum_leaves_nothing(server, vmrun, qcow2):
    url = server.put("tiny.qcow2", qcow2.read_bytes())
    r = vmrun("image", "pull", url, "--sha256", sha(b"something else"))
    err = one_line_error(r, 1)
    assert "tiny: the download is not what its checksum says" in err and "nothing was kept" in err
    assert os.listdir(images()) == []


def test_a_sums_file_without_the_image_is_one_line(server, vmrun, qcow2):
    url = server.put("tiny.qcow2", qcow2.read_bytes())
    sums = server.put("SHA256SUMS", f"{sha(b'x')}  other.qcow2\n".encode())
    err = one_line_error(vmrun("image", "pull", url, "--sums", sums), 1)
    assert f"{sums}: does not list tiny.qcow2 (it lists other.qcow2)" in err
    assert not images().exists() or os.listdir(images()) == []


def test_a_missing_image_is_one_line_and_leaves_nothing(server, vmrun):
    url = f"{server.base}/no/such.qcow2"
    err = one_line_error(vmrun("image", "pull", url, "--sha256", sha(b"x")), 1)
    assert f"{url}: the server answered HTTP 404 Not Found" in err
    assert os.listdir(images()) == []


def test_a_cut_download_stays_as_part_and_the_next_pull_resumes_it(server, vmrun, qcow2):
    data = qcow2.read_bytes()
    url = server.put("tiny.qcow2", data)
    server.faults(cut_after=CUT)
    err = one_line_error(vmrun("image", "pull", url, "--sha256", sha(data)), 1)
    assert f"the download of {url} was cut" in err and "after 976.6 KiB of" in err
    assert f"{images() / 'tiny.part'} is kept: the same vmrun image pull resumes it" in err
    assert os.listdir(images()) == ["tiny.part"]
    assert (images() / "tiny.part").read_bytes() == data[:CUT]

    r = vmrun("image", "list", "--json")
    assert json.loads(r.stdout) == [{"name": "tiny", "file": str(images() / "tiny.part"), "partial": True, "size": CUT}]

    server.faults()
    r = vmrun("image", "pull", url, "--sha256", sha(data))
    assert r.returncode == 0, r.stderr
    assert [q["range"] for q in server.requests("tiny.qcow2")] == [None, f"bytes={CUT}-"]
    assert (images() / "tiny").read_bytes() == data
    assert sorted(os.listdir(images())) == ["tiny", "tiny.json"]


def test_a_server_without_range_support_starts_over(server, vmrun, qcow2):
    data = qcow2.read_bytes()
    url = server.put("tiny.qcow2", data)
    server.faults(cut_after=CUT)
    one_line_error(vmrun("image", "pull", url, "--sha256", sha(data)), 1)
    server.faults(ignore_range=True)
    r = vmrun("image", "pull", url, "--sha256", sha(data))
    assert r.returncode == 0, r.stderr
    assert "the server sent the whole file instead of the rest: starting over" in r.stderr
    assert [q["range"] for q in server.requests("tiny.qcow2")] == [None, f"bytes={CUT}-"]
    assert (images() / "tiny").read_bytes() == data


def test_ctrl_c_keeps_the_part_and_rm_removes_it(server, vmrun, netns, qcow2):
    data = qcow2.read_bytes()
    url = server.put("tiny.qcow2", data)
    server.faults(stall_after=CUT)
    proc = netns.popen(vmrun_bin(), "image", "pull", url, "--sha256", sha(data), stderr=subprocess.PIPE, text=True)
    part = images() / "tiny.part"
    deadline = time.monotonic() + 30
    while not (part.exists() and part.stat().st_size == CUT):
        assert time.monotonic() < deadline and proc.poll() is None, "the download did not start"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert f"kept {part} (976.6 KiB): pulling tiny again resumes it" in err
    assert os.listdir(images()) == ["tiny.part"]

    r = vmrun("image", "rm", "tiny")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"removed {part}"
    assert os.listdir(images()) == []


def test_an_unverifiable_pull_needs_insecure(server, vmrun, qcow2):
    data = qcow2.read_bytes()
    url = server.put("tiny.qcow2", data)
    err = one_line_error(vmrun("image", "pull", url), 2)
    assert f"{url}: nothing to verify the download with" in err and "--insecure" in err
    assert not images().exists() or os.listdir(images()) == []
    err = one_line_error(vmrun("image", "pull", url, "--sha256", sha(data), "--insecure"), 2)
    assert "--insecure: there is --sha256 to verify it with" in err

    r = vmrun("image", "pull", url, "--insecure")
    assert r.returncode == 0, r.stderr
    assert "verified by nothing (--insecure)" in r.stdout
    assert json.loads((images() / "tiny.json").read_text())["digest"] == sha(data)


# The catalogue's own shapes: Debian's SHA512SUMS (GNU) and Fedora's signed CHECKSUM (BSD), served from a mirror.
MIRRORED = {
    "debian-12": ("cloud.debian.org/images/cloud/bookworm/latest/", "SHA512SUMS", GNU, "sha512"),
    "fedora-44": (
        "download.fedoraproject.org/pub/fedora/linux/releases/44/Cloud/x86_64/images/",
        "Fedora-Cloud-44-1.7-x86_64-CHECKSUM",
        BSD,
        "sha256",
    ),
}


def mirror_catalogue_image(server, name: str, data: bytes) -> None:
    from vmrun.images.catalogue import find

    entry = find(name)
    folder, sums_name, shape, algo = MIRRORED[name]
    assert entry.url == f"https://{folder}{entry.file_name}" and entry.sums == f"https://{folder}{sums_name}"
    server.put(folder + entry.file_name, data)
    sums = shape.format(name=entry.file_name, digest=sha(data, algo), other=sha(b"o", algo))
    server.put(folder + sums_name, sums.encode())


@pytest.mark.parametrize("name", sorted(MIRRORED))
def test_a_catalogue_image_through_the_mirror(server, vmrun, qcow2, name):
    data = qcow2.read_bytes()
    mirror_catalogue_image(server, name, data)
    r = vmrun("image", "pull", name, "--json", env={"VMRUN_IMAGE_MIRROR": server.base})
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)
    folder, sums_name, _, algo = MIRRORED[name]
    assert (shown["name"], shown["catalogue"], shown["user"]) == (name, name, name.split("-")[0])
    assert shown["url"] == f"{server.base}/{folder}{shown['url'].rsplit('/', 1)[-1]}"
    assert shown["verified_by"] == f"catalogue ({server.base}/{folder}{sums_name})"
    assert shown["algorithm"] == algo and (images() / name).read_bytes() == data


def test_rm_is_refused_while_a_profile_is_backed_by_the_image(server, vmrun, qcow2, private_config, tmp_path):
    data = qcow2.read_bytes()
    url = server.put("tiny.qcow2", data)
    assert vmrun("image", "pull", url, "--sha256", sha(data)).returncode == 0
    profiles = private_config / "vmrun" / "profiles"
    profiles.mkdir(parents=True)
    profile = profiles / "web.toml"
    profile.write_text(f'[[drives]]\nfile = "{tmp_path}/web.qcow2"\nbacking = "{images() / "tiny"}"\n')
    err = one_line_error(vmrun("image", "rm", "tiny"), 2)
    assert f"tiny is in use: profile {profile} (drives[0])" in err
    assert (images() / "tiny").read_bytes() == data

    # An overlay made by hand, named as the drive's file: its backing chain leads to the image.
    overlay = tmp_path / "by-hand.qcow2"
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(images() / "tiny"), "-F", "qcow2", str(overlay)],
        check=True,
    )
    profile.write_text(f'[[drives]]\nfile = "{overlay}"\n')
    err = one_line_error(vmrun("image", "rm", "tiny"), 2)
    assert f"tiny is in use: profile {profile} (drives[0])" in err

    profile.unlink()
    r = vmrun("image", "rm", "tiny", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["removed"] == [str(images() / "tiny"), str(images() / "tiny.json")]
    assert os.listdir(images()) == []
    err = one_line_error(vmrun("image", "rm", "tiny"), 2)
    assert "no image 'tiny' in" in err


def test_a_resumed_download_that_does_not_match_is_fetched_again_whole(server, vmrun, qcow2):
    """The file changed on the server between the cut and the resume (a "latest" link moved on)."""
    old = qcow2.read_bytes()
    url = server.put("tiny.qcow2", old)
    server.faults(cut_after=CUT)
    one_line_error(vmrun("image", "pull", url, "--sha256", sha(old)), 1)
    new = os.urandom(CUT) + old[CUT:]
    server.put("tiny.qcow2", new)
    server.faults()
    r = vmrun("image", "pull", url, "--sha256", sha(new))
    assert r.returncode == 0, r.stderr
    assert "the resumed download does not match its checksum; downloading it again from the start" in r.stderr
    assert [q["range"] for q in server.requests("tiny.qcow2")] == [None, f"bytes={CUT}-", None]
    assert (images() / "tiny").read_bytes() == new


def test_a_progress_bar_on_a_terminal(server, netns, qcow2):
    import pty

    data = qcow2.read_bytes()
    url = server.put("tiny.qcow2", data)
    controller, terminal = pty.openpty()
    try:
        proc = netns.popen(
            vmrun_bin(), "image", "pull", url, "--sha256", sha(data), stderr=terminal, stdout=subprocess.PIPE
        )
        os.close(terminal)
        out = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the terminal's other side closed
                break
            if not chunk:
                break
            out += chunk
        assert proc.wait(timeout=60) == 0
    finally:
        os.close(controller)
    shown = out.decode()
    assert "\rtiny [" in shown and f"[{'#' * 30}] 100% 3.3 MiB of 3.3 MiB" in shown, shown
    assert "vmrun: tiny: " in shown and "downloading tiny (" not in shown  # the bar, not the log lines
