#!/bin/bash
# judge-args:
# judge-files: images/dev.qcow2 images/seed.iso
# judge-host:
# kernel-dev box; toggle the options by (un)commenting
IMG=images/dev.qcow2
qemu-system-x86_64 \
	-enable-kvm \
	-m 3G \
	-smp 2 \
	-drive file=$IMG,if=virtio,cache=none \
	# -vga std \
	-drive file=images/seed.iso,media=cdrom \
	-netdev user,id=net0,hostfwd=tcp::22226-:22 \
	# -device e1000,netdev=net0 \
	-device virtio-net-pci,netdev=net0,mac=52:54:00:00:00:26 \
	-display none
echo "VM exited"
