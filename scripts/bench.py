#!/usr/bin/env python3
"""Benchmarks for what vmrun adds on top of QEMU (speed goals live here, not in tests).

  scripts/bench.py launch [-n 10] [PROFILE]
      `vmrun up` (which returns once QMP answers query-status), against raw
      qemu-system-x86_64 with the same argv until it answers the same; prints
      the medians and their ratio (target <= 3; also raw QEMU's bare greeting).
  scripts/bench.py help [-n 10]
      `vmrun --help` wall time, and that it imports no heavy library.
  scripts/bench.py ps [-n 10] [--vms 20]
      `vmrun ps` with 1 VM and with 20 (paused QEMUs, -S), one of them
      SIGSTOPped in a third round; ps asks all VMs at once, so 20 should cost
      at most 1.5 times 1, and a frozen one about its 2 s deadline, once.

  scripts/bench.py engines [-n 5]
      `up` to running, `nic add` (a bridge NIC) and `down --force` on the qemu
      engine, the libvirt engine, and plain `virsh create` / `attach-interface`
      / `destroy` of the same domain XML, side by side (root: it starts its
      own libvirtd in a namespace, as the tests do).

Run as the user who runs VMs; loopback only (the profile's forwards bind 127.0.0.1).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VMRUN = str(REPO / ".venv" / "bin" / "vmrun")
BENCH_PROFILE = 'name = "bench"\naccel = "tcg"\nmemory = "128M"\n[[nics]]\nid = "net0"\nhostfwd = ["tcp::{port}-:22"]\n'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_greeting(path: str, proc: subprocess.Popen) -> socket.socket:
    while True:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            if s.recv(4096):
                return s
        except (FileNotFoundError, ConnectionRefusedError, ConnectionResetError):
            s.close()
            if proc.poll() is not None:
                raise SystemExit(f"qemu exited: {proc.returncode}") from None
            time.sleep(0.001)


def ask(s: socket.socket, command: str) -> None:
    """One QMP command, its answer read (events before it skipped)."""
    s.sendall(json.dumps({"execute": command}).encode() + b"\n")
    buf = b""
    while b'"return"' not in buf and b'"error"' not in buf:
        if not (data := s.recv(65536)):
            raise SystemExit(f"qemu closed QMP before it answered {command}")
        buf += data


def time_raw(argv: list[str], tmp: str, run_dir: str) -> tuple[float, float]:
    """Raw QEMU until its QMP greeting, and until it answers query-status (as `vmrun up` waits).

    The argv names sockets in the VM's run folder (the guest agent's), which `vmrun up` makes:
    for raw QEMU it is made here and removed after."""
    qmp = os.path.join(tmp, "raw-qmp.sock")
    full = argv + ["-qmp", f"unix:{qmp},server=on,wait=off", "-serial", "none"]
    os.makedirs(run_dir, mode=0o700)
    start = time.perf_counter()
    proc = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with wait_greeting(qmp, proc) as s:
        greeting = time.perf_counter() - start
        ask(s, "qmp_capabilities")  # what `vmrun up` asks before it returns: QEMU answers
        ask(s, "query-status")  # query-status only once its machine is built
        status = time.perf_counter() - start
    proc.kill()
    proc.wait()
    os.unlink(qmp)
    shutil.rmtree(run_dir)
    return greeting, status


def time_vmrun(profile: str, name: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([VMRUN, "up", profile], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    subprocess.run([VMRUN, "down", name, "--force"], env=env, check=True, stdout=subprocess.DEVNULL)
    return elapsed


def launch(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "VMRUN_RUNTIME_DIR": os.path.join(tmp, "run")}
        profile = args.profile
        if profile is None:
            profile = os.path.join(tmp, "bench.toml")
            Path(profile).write_text(BENCH_PROFILE.format(port=free_port()))
        shown = json.loads(subprocess.check_output([VMRUN, "show", profile, "--json"], env=env))
        greetings, raw, ours = [], [], []
        for _ in range(args.n):
            greeting, status = time_raw(shown["argv"], tmp, os.path.join(env["VMRUN_RUNTIME_DIR"], shown["name"]))
            greetings.append(greeting)
            raw.append(status)
            ours.append(time_vmrun(profile, shown["name"], env))
        g, r, v = statistics.median(greetings), statistics.median(raw), statistics.median(ours)
        print(f"raw qemu until QMP greets  : median {g * 1000:7.1f} ms  (n={args.n})")
        print(f"raw qemu until query-status: median {r * 1000:7.1f} ms  (n={args.n})")
        print(f"vmrun up (until the same)  : median {v * 1000:7.1f} ms  (n={args.n})")
        print(f"ratio                      : {v / r:.2f}  (target <= 3; {v / g:.2f} against the greeting)")


def help_(args: argparse.Namespace) -> None:
    times = []
    for _ in range(args.n):
        start = time.perf_counter()
        subprocess.run([VMRUN, "--help"], check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    code = "import sys,runpy;sys.argv=['vmrun','--help']\ntry: runpy.run_module('vmrun',run_name='__main__')\nexcept SystemExit: pass\n"
    code += "print(sorted(m for m in ('pyroute2','libvirt','qemu.qmp','asyncio') if m in sys.modules),file=sys.stderr)"
    heavy = subprocess.run([str(REPO / ".venv/bin/python"), "-c", code], capture_output=True, text=True).stderr.strip()
    print(f"vmrun --help: median {statistics.median(times) * 1000:.1f} ms (n={args.n}); heavy imports: {heavy}")


PS_PROFILE = 'name = "{name}"\naccel = "tcg"\nmemory = "32M"\nextra_args = ["-S"]\n'


def time_ps(env: dict[str, str], n: int) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run([VMRUN, "ps"], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ps(args: argparse.Namespace) -> None:
    import signal

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "VMRUN_RUNTIME_DIR": os.path.join(tmp, "run")}
        names = [f"ps{i}" for i in range(args.vms)]
        try:
            results = []
            for count in (1, args.vms):
                for name in names[:count]:
                    profile = os.path.join(tmp, f"{name}.toml")
                    if not os.path.exists(profile):
                        Path(profile).write_text(PS_PROFILE.format(name=name))
                        subprocess.run([VMRUN, "up", profile], env=env, check=True, stdout=subprocess.DEVNULL)
                results.append((count, time_ps(env, args.n)))
            status = json.loads(subprocess.check_output([VMRUN, "ps", "--json"], env=env))
            frozen = status[0]["pid"]
            os.kill(frozen, signal.SIGSTOP)
            try:
                results.append((f"{args.vms}, one frozen", time_ps(env, max(1, args.n // 3))))
            finally:
                os.kill(frozen, signal.SIGCONT)
        finally:
            for name in names:
                subprocess.run(
                    [VMRUN, "down", name, "--force"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
        base = results[0][1]
        print("| VMs | vmrun ps median | ratio to 1 VM |")
        print("| --- | --- | --- |")
        for count, t in results:
            print(f"| {count} | {t * 1000:.1f} ms | {t / base:.2f} |")
        print(f"target: {args.vms} VMs at most 1.5 x 1 VM")


ENGINE_PROFILE = (
    'name = "{name}"\naccel = "tcg"\nmemory = "64M"\n[[nics]]\nid = "net0"\ntype = "bridge"\nbridge = "br0"\n'
)


def engines(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(REPO))
    from tests.libvirt_hosts import LibvirtHost

    def timed(host, *argv: str, env: dict[str, str]) -> float:
        start = time.perf_counter()
        r = host.netns.run(*argv, env=env, timeout=120)
        if r.returncode != 0:
            raise SystemExit(f"{' '.join(argv)}: {r.stderr.strip()}")
        return time.perf_counter() - start

    with tempfile.TemporaryDirectory() as tmp, LibvirtHost("bench") as host:
        host.netns.ip("link", "add", "br0", "type", "bridge")
        host.netns.ip("link", "set", "br0", "up")
        env = {**os.environ, "VMRUN_RUNTIME_DIR": os.path.join(tmp, "run")}
        env.pop("VMRUN_CONNECT", None)
        profile = os.path.join(tmp, "eb.toml")
        Path(profile).write_text(ENGINE_PROFILE.format(name="eb"))
        xml = os.path.join(tmp, "eb.xml")
        Path(xml).write_text(subprocess.check_output([VMRUN, "show", profile, "--libvirt"], env=env, text=True))
        virsh = ["virsh", "-q", "-c", host.uri]
        rows: dict[str, dict[str, list[float]]] = {
            k: {"up": [], "nic add": [], "down": []} for k in ("qemu", "libvirt", "virsh")
        }
        for _ in range(args.n):
            for engine, connect in (("qemu", []), ("libvirt", ["-c", host.uri])):
                rows[engine]["up"].append(timed(host, VMRUN, "up", profile, *connect, env=env))
                rows[engine]["nic add"].append(
                    timed(host, VMRUN, "nic", "add", "eb", "--bridge", "br0", *connect, env=env)
                )
                rows[engine]["down"].append(timed(host, VMRUN, "down", "eb", "--force", *connect, env=env))
            rows["virsh"]["up"].append(timed(host, *virsh, "create", xml, env=env))
            rows["virsh"]["nic add"].append(
                timed(host, *virsh, "attach-interface", "eb", "bridge", "br0", "--model", "virtio", "--live", env=env)
            )
            rows["virsh"]["down"].append(timed(host, *virsh, "destroy", "eb", env=env))
    med = {e: {k: statistics.median(v) for k, v in ops.items()} for e, ops in rows.items()}
    print(f"| step (median of {args.n}) | qemu engine | libvirt engine | virsh | libvirt / virsh |")
    print("| --- | --- | --- | --- | --- |")
    for step in ("up", "nic add", "down"):
        q, lv, vs = med["qemu"][step], med["libvirt"][step], med["virsh"][step]
        print(f"| {step} | {q * 1000:.0f} ms | {lv * 1000:.0f} ms | {vs * 1000:.0f} ms | {lv / vs:.2f} |")
    print("aims: up within 1.5 x virsh create; nic add within 4 x virsh attach-interface")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("launch")
    p.add_argument("-n", type=int, default=10)
    p.add_argument("profile", nargs="?")
    p.set_defaults(func=launch)
    h = sub.add_parser("help")
    h.add_argument("-n", type=int, default=10)
    h.set_defaults(func=help_)
    e = sub.add_parser("engines")
    e.add_argument("-n", type=int, default=5)
    e.set_defaults(func=engines)
    q = sub.add_parser("ps")
    q.add_argument("-n", type=int, default=10)
    q.add_argument("--vms", type=int, default=20)
    q.set_defaults(func=ps)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    sys.exit(main())
