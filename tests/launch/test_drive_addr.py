"""A virtio disk pinned to a PCI slot (``addr``) reaches QEMU as a device it starts with.

QEMU 7.2 refuses ``-drive if=virtio,addr=...`` ("Block format 'qcow2' does not support the option
'addr'"): the argv gives such a disk ``-drive if=none`` and a ``virtio-blk-pci`` of its own.
"""

from __future__ import annotations

import subprocess

from vmrun.argv import RunOptions, build_argv
from vmrun.profile.load import load_profile
from vmrun.profile.model import Accel


def test_qemu_starts_with_a_pinned_virtio_disk(tmp_path):
    disk = tmp_path / "d.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "16M"], check=True)
    toml = tmp_path / "pin.toml"
    toml.write_text(f'name = "pin"\n[[drives]]\nfile = "{disk}"\naddr = "0x6"\n')
    argv = build_argv(load_profile(toml), {}, qemu="qemu-system-x86_64", accel=Accel.TCG, run=RunOptions())
    argv += ["-S", "-display", "none", "-monitor", "none", "-serial", "none", "-nodefaults"]
    qemu = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    try:
        qemu.wait(timeout=3)
    except subprocess.TimeoutExpired:
        pass  # still running: it took every option
    else:
        raise AssertionError(f"QEMU refused the argv: {qemu.stderr.read().strip()}")
    finally:
        qemu.kill()
        qemu.wait()
        qemu.stderr.close()
