"""Whose state vmrun may act on (issue 9, defects 2 and 3).

Defect 2: a VM name is a name, never a path: `down /tmp/x`, `down ../victim`, `down ..`
must not reach outside the runtime folder.
Defect 3: vmrun (often root) must act only on run folders and records the invoking user
made: a runtime folder, VM folder or record someone else could write is left alone, and
a pid or link name in a record is acted on only when it provably is the VM's own.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import REPO, links, vmrun_bin
from tests.faults.util import one_error

pytestmark = pytest.mark.root

NOBODY = 65534
NAME = "planted"


# --- helpers -------------------------------------------------------------------------------------


def no_traceback(r: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, r.stderr


def ifindex(netns, name: str) -> int:
    out = netns.run("ip", "-o", "link", "show", name, check=True).stdout
    return int(out.split(":", 1)[0])


def add_victim(vm) -> int:
    """``victim0``: a bridge in the test's namespace that no VM made."""
    vm.netns.ip("link", "add", "victim0", "type", "bridge")
    return ifindex(vm.netns, "victim0")


def start_sleep(*argv: str) -> subprocess.Popen:
    p = subprocess.Popen(list(argv) or ["sleep", "300"], start_new_session=True)
    return p


def stop_sleep(p: subprocess.Popen) -> None:
    try:
        os.killpg(p.pid, 9)
    except ProcessLookupError:
        pass
    p.wait(timeout=10)


def start_time(pid: int) -> int:
    text = Path(f"/proc/{pid}/stat").read_text()
    return int(text[text.rindex(")") + 2 :].split()[19])


def plant(folder: Path, objects: object, state: object, *, uid: int = 0) -> dict[Path, bytes]:
    """A VM folder holding the given records, everything owned by ``uid``; returns the files' contents."""
    folder.mkdir(mode=0o700, parents=True)
    files = {
        folder / "host-objects.json": json.dumps(objects).encode(),
        folder / "state.json": json.dumps(state).encode(),
    }
    for path, data in files.items():
        path.write_bytes(data)
        os.chmod(path, 0o600)
        os.chown(path, uid, uid)
    os.chown(folder, uid, uid)
    return files


def run_in(vm, *args: str, env: dict) -> subprocess.CompletedProcess:
    return vm.netns.run(vmrun_bin(), *args, env=env, timeout=120)


# --- defect 2: names that are paths ----------------------------------------------------------------


def test_down_of_a_path_or_dot_dot_is_refused_and_removes_nothing(vm, tmp_path):
    """Defect 2: `down <path>`, `down ../victim`, `down ..`, `down .` exit 2 "not a usable name"; nothing removed."""
    target = tmp_path / "x"
    (target / "sub").mkdir(parents=True)
    (target / "state.json").write_text("{}\n")
    victim = vm.runtime_dir.parent / "victim"
    victim.mkdir()
    (victim / "state.json").write_text("{}\n")
    vm.runtime_dir.mkdir(mode=0o700)
    folders = [target, target / "sub", victim, vm.runtime_dir, vm.runtime_dir.parent]

    for arg in (str(target), "../victim", "..", ".", f"{vm.runtime_dir}/../victim", "../run"):
        r = vm("down", arg)
        assert r.returncode == 2, (arg, r.stderr)
        line = one_error(r.stderr)
        assert f"'{arg}' is not a usable name" in line and "(a name, not a path)" in line, line
        for folder in folders:
            assert folder.is_dir(), f"`vmrun down {arg}` removed {folder}"
        assert (target / "state.json").exists() and (victim / "state.json").exists()


# --- defect 3: the runtime folder must be ours ------------------------------------------------------


@pytest.mark.parametrize("args", [("ps",), ("gc",), ("down", "x")], ids=["ps", "gc", "down"])
@pytest.mark.parametrize("setup", ["other-uid", "world-writable", "group-writable"])
def test_runtime_dir_not_ours_is_refused(vm, tmp_path, args, setup):
    """Defect 3: VMRUN_RUNTIME_DIR owned by uid 65534, or writable by others, is refused by every command."""
    folder = tmp_path / "foreign"
    folder.mkdir(mode=0o700)
    if setup == "other-uid":
        os.chown(folder, NOBODY, NOBODY)
        expected = f"VMRUN_RUNTIME_DIR={folder} belongs to uid {NOBODY}, not to you (uid 0)"
    elif setup == "world-writable":
        os.chmod(folder, 0o777)
        expected = f"VMRUN_RUNTIME_DIR={folder} can be written by others (mode 777)"
    else:
        os.chmod(folder, 0o770)
        expected = f"VMRUN_RUNTIME_DIR={folder} can be written by others (mode 770)"
    # Something that would be acted on if the folder were read: a dead VM's folder.
    plant(folder / "x", [], {"name": "x", "profile": "/x", "pid": None}, uid=os.stat(folder).st_uid)
    env = {**vm.env, "VMRUN_RUNTIME_DIR": str(folder)}

    r = run_in(vm, *args, env=env)
    assert r.returncode == 2, r.stderr
    assert one_error(r.stderr) == f"vmrun: error: {expected}"
    assert r.stdout == ""
    assert (folder / "x" / "state.json").exists()
    assert (
        stat.S_IMODE(folder.stat().st_mode)
        == {"other-uid": 0o700, "world-writable": 0o777, "group-writable": 0o770}[setup]
    )


# --- defect 3: planted records --------------------------------------------------------------------


@pytest.mark.parametrize("command", ["gc", "down", "ps"])
def test_vm_folder_of_another_uid_is_left_alone(vm, command):
    """Defect 3: a VM folder owned by uid 65534 naming a root process and a bridge: nothing is killed or deleted."""
    index = add_victim(vm)
    sleeper = start_sleep()
    try:
        vm.runtime_dir.mkdir(mode=0o700)
        folder = vm.runtime_dir / NAME
        objects = [
            {"kind": "process", "pid": sleeper.pid, "start": None, "what": "passt"},
            {"kind": "link", "name": "victim0", "ifindex": index},
        ]
        files = plant(folder, objects, {"name": NAME, "profile": "/x", "pid": sleeper.pid}, uid=NOBODY)

        r = vm(command, *([NAME] if command == "down" else []))
        assert "Traceback" not in r.stderr
        if command == "down":
            assert r.returncode == 2, r.stderr
            line = one_error(r.stderr)
            assert NAME in line and f"belongs to uid {NOBODY}" in line, line
        else:
            assert r.returncode == 0, r.stderr
            assert "left alone" in r.stderr and f"belongs to uid {NOBODY}" in r.stderr, r.stderr
            assert NAME not in r.stdout, r.stdout  # not listed, not cleaned
        assert sleeper.poll() is None, "vmrun killed a process named in another user's record"
        assert "victim0" in links(vm.netns) and ifindex(vm.netns, "victim0") == index
        assert folder.is_dir() and all(path.read_bytes() == data for path, data in files.items())
    finally:
        stop_sleep(sleeper)


@pytest.mark.parametrize("command", ["down", "gc"])
@pytest.mark.parametrize("link", ["wrong-ifindex", "tap-kind", "wrong-ifindex-tap-kind", "no-kind", "bridge-kind"])
def test_records_of_our_own_folder_act_only_on_what_is_provably_ours(vm, command, link):
    """Defect 3: in a root-owned VM folder, a pid that is not this VM's process and a link record for a
    bridge (wrong ifindex, or link_kind "tap") are not acted on; the folder itself is cleaned.
    Issue 21, item 7: nor a record of the old format (no link_kind) with the bridge's own ifindex,
    nor one whose link_kind is a kind vmrun never makes."""
    index = add_victim(vm)
    record = {
        "wrong-ifindex": {"kind": "link", "name": "victim0", "ifindex": index + 1000},
        "no-kind": {"kind": "link", "name": "victim0", "ifindex": index},
        "bridge-kind": {"kind": "link", "name": "victim0", "ifindex": index, "link_kind": "bridge"},
        "tap-kind": {"kind": "link", "name": "victim0", "ifindex": index, "link_kind": "tap"},
        "wrong-ifindex-tap-kind": {"kind": "link", "name": "victim0", "ifindex": index + 1000, "link_kind": "tap"},
    }[link]
    sleeper = start_sleep()
    try:
        vm.runtime_dir.mkdir(mode=0o700)
        folder = vm.runtime_dir / NAME
        objects = [
            {"kind": "process", "pid": sleeper.pid, "start": None, "what": "passt"},
            # With its real start time and a socket path in the run folder it still is not ours: sleep's
            # command line does not name that path.
            {
                "kind": "process",
                "pid": sleeper.pid,
                "start": start_time(sleeper.pid),
                "what": "passt",
                "arg": "--socket",
                "path": str(folder / "passt.sock"),
            },
            record,
        ]
        plant(folder, {"schema": 2, "objects": objects}, {"name": NAME, "profile": "/x", "pid": sleeper.pid})

        r = vm(command, *([NAME] if command == "down" else []), timeout=120)
        assert "Traceback" not in r.stderr
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == (f"{NAME}: was not running" if command == "down" else f"cleaned up: {NAME}")
        assert sleeper.poll() is None, "vmrun killed a process that is not its own"
        assert "victim0" in links(vm.netns) and ifindex(vm.netns, "victim0") == index
        assert not folder.exists()
        assert not (vm.runtime_dir / f".{NAME}.lock").exists()
    finally:
        stop_sleep(sleeper)


def test_root_ignores_xdg_runtime_dir(vm, tmp_path):
    """Defect 3: root without VMRUN_RUNTIME_DIR uses /run/vmrun: records under XDG_RUNTIME_DIR (another
    user's) are never read, even ones that would be acted on if they were vmrun's."""
    had_run_vmrun = Path("/run/vmrun").exists()
    index = add_victim(vm)
    xdg = tmp_path / "xdg"
    folder = xdg / "vmrun" / NAME
    # A process whose command line names a path in the planted run folder: a record of it would pass.
    sleeper = start_sleep("sh", "-c", "sleep 300; :", str(folder / "passt.sock"))
    try:
        objects = [
            {"kind": "process", "pid": sleeper.pid, "start": None, "what": "passt"},
            {"kind": "link", "name": "victim0", "ifindex": index},
        ]
        files = plant(folder, objects, {"name": NAME, "profile": "/x", "pid": sleeper.pid}, uid=NOBODY)
        for path in (xdg / "vmrun", xdg):
            os.chmod(path, 0o700)
            os.chown(path, NOBODY, NOBODY)
        env = {k: v for k, v in vm.env.items() if k != "VMRUN_RUNTIME_DIR"}
        env["XDG_RUNTIME_DIR"] = str(xdg)

        for args in (("gc",), ("ps",), ("down", NAME)):
            r = run_in(vm, *args, env=env)
            no_traceback(r)
            assert str(xdg) not in r.stdout + r.stderr, (args, r.stdout, r.stderr)
            assert sleeper.poll() is None, f"`vmrun {' '.join(args)}` killed a process named under XDG_RUNTIME_DIR"
            assert "victim0" in links(vm.netns) and ifindex(vm.netns, "victim0") == index
            assert all(path.read_bytes() == data for path, data in files.items())
            if args == ("gc",):
                assert r.returncode == 0, r.stderr
            if args == ("down", NAME) and not had_run_vmrun:
                assert r.returncode == 2 and f"{NAME}: not running" in one_error(r.stderr), r.stderr
        assert Path("/run/vmrun").exists() == had_run_vmrun, "vmrun created /run/vmrun"
    finally:
        stop_sleep(sleeper)
        if not had_run_vmrun and Path("/run/vmrun").exists():
            shutil.rmtree("/run/vmrun", ignore_errors=True)


# --- defect 3: a user who is not root ---------------------------------------------------------------

AS_NOBODY = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
VENV_VMRUN = REPO / ".venv" / "bin" / "vmrun"


def as_nobody(*args: str, env: dict) -> subprocess.CompletedProcess:
    base = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8"}
    return subprocess.run(
        [*AS_NOBODY, str(VENV_VMRUN), *args], env={**base, **env}, capture_output=True, text=True, timeout=60, cwd="/"
    )


def require_venv_usable_by_nobody() -> None:
    """The test needs uid 65534 to run .venv/bin/vmrun: fail (never skip) if it cannot, saying why."""
    r = as_nobody("--help", env={})
    if r.returncode != 0:
        blocked = []
        for path in [VENV_VMRUN, (REPO / ".venv" / "bin" / "python").resolve()]:
            for parent in [*reversed(path.parents), path]:
                if parent.is_dir() and not parent.stat().st_mode & 0o001:
                    blocked.append(
                        f"{parent} (mode {stat.S_IMODE(parent.stat().st_mode):o}) is not traversable by others"
                    )
                    break
        pytest.fail(
            f"uid {NOBODY} cannot run {VENV_VMRUN} (exit {r.returncode}: {r.stderr.strip()[-300:]}); "
            f"{'; '.join(blocked) or 'see the error'}: this test needs a venv and interpreter that uid {NOBODY} can "
            "read and run (e.g. a venv made from a Python outside /root)",
            pytrace=False,
        )


@pytest.fixture
def tmp_vmrun_nobody():
    """Removes /tmp/vmrun-65534 afterwards if the test made it."""
    path = Path(tempfile.gettempdir()) / f"vmrun-{NOBODY}"
    existed = path.exists()
    yield path
    if not existed and path.exists():
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def root_folder():
    """A folder of root's, 0700, that uid 65534 can stat but not enter (its parent is /tmp)."""
    path = Path(tempfile.mkdtemp(prefix="vmrun-root-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("where", ["statable", "behind-a-closed-folder"])
def test_non_root_with_roots_runtime_dir_gets_one_line(vm, root_folder, tmp_vmrun_nobody, where):
    """Defect 3: uid 65534 with VMRUN_RUNTIME_DIR at root's runtime folder: exit 2, one line, no PermissionError."""
    require_venv_usable_by_nobody()
    if where == "statable":
        runtime = root_folder
    else:
        runtime = vm.runtime_dir  # under pytest's tmp folder, 0700: uid 65534 cannot even stat it
        runtime.mkdir(mode=0o700)
    (runtime / "x").mkdir(mode=0o700)
    for args in (("ps",), ("gc",), ("down", "x")):
        r = as_nobody(*args, env={"VMRUN_RUNTIME_DIR": str(runtime)})
        assert r.returncode == 2, (args, r.stderr)
        line = one_error(r.stderr)
        assert "PermissionError" not in r.stderr
        assert line.startswith(f"vmrun: error: VMRUN_RUNTIME_DIR={runtime} "), line
        if where == "statable":
            assert line.endswith(f"belongs to uid 0, not to you (uid {NOBODY})"), line
    assert (runtime / "x").is_dir()


def test_non_root_ignores_an_xdg_runtime_dir_of_roots(vm, root_folder, tmp_vmrun_nobody):
    """Defect 3: uid 65534 with XDG_RUNTIME_DIR at a folder of root's: a notice, then its own /tmp/vmrun-65534."""
    require_venv_usable_by_nobody()
    (root_folder / "vmrun" / "x").mkdir(mode=0o700, parents=True)
    r = as_nobody("ps", env={"XDG_RUNTIME_DIR": str(root_folder)})
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert r.stdout.strip() == "no VMs"
    [notice] = r.stderr.splitlines()
    assert notice.startswith(f"vmrun: ignoring XDG_RUNTIME_DIR={root_folder}") and str(tmp_vmrun_nobody) in notice, (
        notice
    )


def test_non_root_meets_roots_files_in_its_own_runtime_dir(vm, tmp_vmrun_nobody):
    """Defect 3: uid 65534's own runtime folder holding a VM folder of root's and a state.json of root's:
    `ps`/`gc` say so and go on, `down` refuses in one line; no PermissionError escapes, root's files stay."""
    require_venv_usable_by_nobody()
    runtime = Path(tempfile.mkdtemp(prefix="vmrun-nobody-"))
    try:
        os.chown(runtime, NOBODY, NOBODY)
        rootvm = runtime / "rootvm"
        plant(rootvm, [], {"name": "rootvm", "profile": "/x", "pid": None}, uid=0)
        mixed = runtime / "mixed"
        mixed.mkdir(mode=0o700)
        os.chown(mixed, NOBODY, NOBODY)
        (mixed / "state.json").write_text(json.dumps({"name": "mixed", "profile": "/x", "pid": None}))
        os.chmod(mixed / "state.json", 0o600)
        env = {"VMRUN_RUNTIME_DIR": str(runtime)}

        r = as_nobody("ps", env=env)
        assert r.returncode == 0, r.stderr
        no_traceback(r)
        assert "PermissionError" not in r.stderr
        assert any("rootvm" in line and "left alone" in line for line in r.stderr.splitlines()), r.stderr

        r = as_nobody("down", "rootvm", env=env)
        assert r.returncode == 2, r.stderr
        assert "rootvm" in one_error(r.stderr) and "belongs to uid 0" in r.stderr

        r = as_nobody("down", "mixed", env=env)
        assert r.returncode in (0, 1), r.stderr
        no_traceback(r)
        assert "PermissionError" not in r.stderr

        r = as_nobody("gc", env=env)
        assert r.returncode == 0, r.stderr
        no_traceback(r)
        assert "PermissionError" not in r.stderr
        assert (rootvm / "state.json").exists() and (rootvm / "host-objects.json").exists()
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
