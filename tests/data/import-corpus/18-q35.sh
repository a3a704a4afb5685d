#!/bin/bash
# judge-args:
# judge-files: fedora.qcow2
# judge-host:
# q35 + virtio everything
VM_DIR="$(dirname "$(realpath "$0")")"
qemu-system-x86_64 \
	-machine q35,accel=kvm \
	-cpu host \
	-m 4G \
	-smp 4,sockets=1,cores=4 \
	-device virtio-rng-pci \
	-drive file="$VM_DIR/fedora.qcow2",if=none,id=d0,format=qcow2 \
	-device virtio-blk-pci,drive=d0 \
	-netdev user,id=n0,hostfwd=tcp::22218-:22 \
	-device virtio-net-pci,netdev=n0,mac=52:54:00:00:00:18 \
	-vga virtio \
	-display none
