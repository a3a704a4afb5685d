"""The commented profile `vmrun new NAME` writes: it loads as it stands and boots nothing that reaches out.

User networking only (no host setup, nothing made on the host), one forward bound
to loopback, and nothing to boot until the user uncomments a disk, an ISO or a kernel.
"""

from __future__ import annotations

TEMPLATE = """\
# vmrun profile of the VM "{name}", written by `vmrun new {name}`.
# Every key with its type and default: `vmrun help profile`.
# Check it: `vmrun doctor {name}`.  Start it: `vmrun up {name}`.  Change it: `vmrun edit {name}`.
name = "{name}"
memory = "1G"
smp = 1
# accel = "auto"          # KVM where it really works, else TCG (slow)
# machine = "q35"
# display = "none"        # or "gtk"; or a [spice] table below

# What to boot: nothing yet. Uncomment a disk, an installer ISO or a kernel.
# Relative paths are taken from this file's folder.
# cdrom = "~/Downloads/debian-12-netinst.iso"
# kernel = "vmlinuz"
# initrd = "initrd.img"
# append = "console=ttyS0"

# [[drives]]
# file = "{name}.qcow2"      # made with: qemu-img create -f qcow2 {name}.qcow2 20G
# format = "qcow2"

# [spice]
# port = 5930               # on 127.0.0.1; set password = "..." before addr = "0.0.0.0"

# QEMU's user networking: nothing to set up on the host. The forward binds 127.0.0.1
# only: `vmrun ssh {name}` reaches the guest's port 22 through it.
[[nics]]
id = "net0"
type = "user"
hostfwd = ["tcp:127.0.0.1:2222-:22"]

# A bridge NIC instead (see `vmrun help profile` for every NIC type):
# [[nics]]
# id = "net1"
# type = "bridge"
# bridge = "br0"
"""


def render(name: str) -> str:
    return TEMPLATE.format(name=name)
