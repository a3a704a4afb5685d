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


IMAGE_TEMPLATE = """\
# vmrun profile of the VM "{name}", written by `vmrun new {name} --image {image}`.
# Every key with its type and default: `vmrun help profile`.
# Start it: `vmrun up {name}`, then `vmrun ssh {name}`.  Change it: `vmrun edit {name}`.
name = "{name}"
memory = "2G"
smp = 2

# The first disk: a qcow2 overlay on the cached cloud image {image}, made by the first
# `vmrun up`; the image itself is only ever read. `size` is the disk the guest sees (the
# image's own root file system grows into it on first boot).
[[drives]]
file = {disk}
backing = {backing}
size = "{size}"

# A NoCloud seed for cloud-init on first boot: the image's default user gets your key.
[cloud_init]
hostname = {hostname}
{user_lines}
# QEMU's user networking: nothing to set up on the host. The forward binds 127.0.0.1
# only: `vmrun ssh {name}` reaches the guest's port 22 through it.
[[nics]]
id = "net0"
type = "user"
hostfwd = ["tcp:127.0.0.1:{port}-:22"]
"""


def render_image(
    name: str,
    *,
    image: str,
    backing: str,
    disk: str,
    size: str,
    hostname: str,
    user: str | None,
    key: str | None,
    port: int,
) -> str:
    """The profile of `vmrun new NAME --image IMAGE`: an overlay on the image, a seed with the key, a forward to 22."""
    import json

    q = json.dumps  # a JSON string is a TOML basic string
    if key is None:
        who = f'user = "{user}"' if user else 'user = "NAME"'
        user_lines = (
            "# No public key was found in ~/.ssh: nobody can log in yet. Add yours (one line of a *.pub file):\n"
            f'# {who}\n# ssh_authorized_keys = ["ssh-ed25519 AAAA..."]\n'
        )
    elif user is None:
        user_lines = (
            "# The image's default user is not known (pulled by URL): it gets the key; log in with vmrun ssh -l USER.\n"
            f"ssh_authorized_keys = [{q(key)}]\n"
        )
    else:
        user_lines = f"user = {q(user)}\nssh_authorized_keys = [{q(key)}]\n"
    return IMAGE_TEMPLATE.format(
        name=name,
        image=image,
        disk=q(disk),
        backing=q(backing),
        size=size,
        hostname=q(hostname),
        user_lines=user_lines,
        port=port,
    )
