#!/bin/bash
# judge-args:
# judge-files: disk.qcow2
# judge-host:
# Debian test VM: user networking, ssh on localhost:22201
DIR=$(dirname "$0")
MEM=4G
CPUS=$(nproc)

exec qemu-system-x86_64 \
	-enable-kvm \
	-m $MEM \
	-smp $CPUS \
	-drive file=$DIR/disk.qcow2,if=virtio \
	-nic user,model=virtio-net-pci,hostfwd=tcp::22201-:22 \
	-nographic
