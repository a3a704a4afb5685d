#!/bin/bash
# judge-args:
# judge-files: disk.qcow2 debian-12.iso
# judge-host:
# install from the netinst ISO onto the virtio disk
ISO=debian-12.iso
qemu-system-x86_64 \
	-accel kvm \
	-m 2G \
	-cdrom $ISO \
	-drive file=disk.qcow2,if=virtio \
	-net nic,model=virtio,macaddr=52:54:00:aa:bb:04 -net user \
	-boot d
