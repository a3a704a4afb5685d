#!/bin/bash
# judge-args: 3G
# judge-files: vm/disk.qcow2 vm/install.iso
# judge-host:
# alternatives are kept after the command
cd "$(dirname "$0")" || exit 1
MEM=${1:-2G}
qemu-system-x86_64 -enable-kvm \
	-m "$MEM" \
    -smp 2 \
	-drive "file=vm/disk.qcow2,if=virtio,format=qcow2" \
    -drive 'file=vm/install.iso,index=2,media=cdrom' \
	-netdev user,id=n1,hostfwd=tcp:127.0.0.1:22228-:22 \
    -device virtio-net-pci,netdev=n1,mac=52:54:00:00:00:28 \
	-monitor stdio \
	-display none 2>&1

#	-device e1000,netdev=n1 \
#	-vga qxl \
echo "bye"
