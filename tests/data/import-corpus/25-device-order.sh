#!/bin/bash
# judge-args:
# judge-files: disk.qcow2
# judge-host:
# the rng and the disk come before the NIC: the guest calls its NIC ens5
qemu-system-x86_64 -enable-kvm -m 2G \
    -device virtio-rng-pci \
    -drive file=disk.qcow2,if=virtio \
    -nic user,model=virtio-net-pci,mac=52:54:00:00:00:25,hostfwd=tcp::22225-:22 \
    -device virtio-balloon-pci \
    -display none
