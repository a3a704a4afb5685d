"""The commented profiles `vmrun new NAME --preset windows|linux` writes: a whole desktop VM each.

Each loads as written (a unit test loads, shows and builds the domain XML of both). What only the
user can supply stays a path to fill in (the installer ISO, the folder to share); what vmrun can
make, it makes at the first `up` (the disk, the NVRAM, the TPM state).
"""

from __future__ import annotations

WINDOWS = """\
# vmrun profile of the VM "{name}", written by `vmrun new {name} --preset windows`.
# Windows 11: q35, UEFI with Secure Boot, a TPM 2.0, a SATA disk and an e1000e NIC (Windows has
# drivers for both), a tablet, sound, the local clock. Every key: `vmrun help profile`.
# Fill in the two ISOs, then: `vmrun doctor {name}`, `vmrun up {name}`.
name = "{name}"
memory = "4G"
smp = 2
machine = "q35"
# accel = "kvm"            # auto: KVM where it really works, else TCG (very slow for Windows)
# cpu = "host"             # with KVM
firmware = "uefi"          # OVMF; the VM keeps its own NVRAM (vmrun up {name} --reset-nvram starts afresh)
secure_boot = true         # Microsoft's keys enrolled, as Windows 11 wants
display = "gtk"            # a window on this desktop; or a [spice] table
tablet = true              # the pointer follows the host's, no grab
audio = "hda"
# audio_backend = "pa"     # to hear it (Debian: the qemu-system-gui package); "none": a silent card
rtc = "localtime"          # Windows keeps the clock in local time

# The installer, booted while the disk is still empty (OVMF: "Press any key to boot from CD").
cdrom = "~/Downloads/Win11_English_x64.iso"
boot = ["disk", "cdrom"]

[tpm]
version = "2.0"            # swtpm, started and stopped by vmrun; its state is kept with the NVRAM

# SATA: Windows' own AHCI driver sees it during the install. After installing the virtio-win
# drivers (viostor), interface = "virtio" is faster.
[[drives]]
file = "{name}.qcow2"
size = "64G"               # made by the first `vmrun up`
interface = "sata"

# A second CD-ROM: the virtio-win drivers (virtio-win.iso, from the Fedora project's virtio-win
# downloads), for "Load driver" during the install and the guest tools after it.
[[drives]]
file = "~/Downloads/virtio-win.iso"
media = "cdrom"

# QEMU's user networking, nothing to set up on the host.
[[nics]]
id = "net0"
type = "user"
model = "e1000e"           # Windows has its driver
# model = "virtio-net-pci" # faster, once virtio-win's netkvm driver is in
# hostfwd = ["tcp:127.0.0.1:3389-:3389"]   # Remote Desktop, from this host only
"""

LINUX = """\
# vmrun profile of the VM "{name}", written by `vmrun new {name} --preset linux`.
# A Linux desktop: q35, UEFI, virtio disk and NIC, a tablet, sound, and a host folder shared
# over virtiofs. Every key: `vmrun help profile`.
# Fill in the installer ISO and the folder, then: `vmrun doctor {name}`, `vmrun up {name}`.
name = "{name}"
memory = "4G"
smp = 2
machine = "q35"
# accel = "kvm"            # auto: KVM where it really works, else TCG (slow)
firmware = "uefi"          # OVMF; the VM keeps its own NVRAM
display = "gtk"            # a window on this desktop; or a [spice] table
vga = "virtio"
tablet = true
audio = "hda"
# audio_backend = "pa"     # to hear it (Debian: the qemu-system-gui package)

# The installer, booted while the disk is still empty.
cdrom = "~/Downloads/debian-12-amd64-netinst.iso"
boot = ["disk", "cdrom"]

[[drives]]
file = "{name}.qcow2"
size = "40G"               # made by the first `vmrun up`

# A host folder in the guest: mount -t virtiofs shared /mnt (or in /etc/fstab:
# "shared /mnt virtiofs defaults 0 0"). vmrun starts a virtiofsd for it (QEMU 7.2's needs root).
[[shares]]
source = "~/Public"        # must exist
tag = "shared"
type = "virtiofs"          # or "9p": no daemon, slower
readonly = false

[[nics]]
id = "net0"
type = "user"
hostfwd = ["tcp:127.0.0.1:2222-:22"]   # `vmrun ssh {name}`, from this host only
"""

PRESETS = {"windows": WINDOWS, "linux": LINUX}


def render(preset: str, name: str) -> str:
    """The preset's profile for ``name`` (KeyError: no such preset; the CLI checks first)."""
    return PRESETS[preset].format(name=name)
