#!/bin/bash
# judge-args: disk.qcow2 2G 22219
# judge-files: disk.qcow2
# judge-host:
# usage: ./vm.sh DISK MEMORY SSHPORT
if [ $# -lt 3 ]; then
    echo "usage: $0 DISK MEMORY SSHPORT" >&2
    exit 1
fi
qemu-system-x86_64 -enable-kvm \
    -drive file=${1},if=virtio \
    -m $2 \
    -nic user,model=virtio-net-pci,hostfwd=tcp::$3-:22 \
    -display none
