#!/bin/bash
# judge-args:
# judge-files: ubuntu.qcow2
# judge-host:
# macOS (Intel) host: hvf acceleration
qemu-system-x86_64 \
    -accel hvf \
    -cpu host \
    -m 4G -smp 4 \
    -drive file=ubuntu.qcow2,if=virtio \
    -nic user,model=virtio-net-pci,mac=52:54:00:00:00:23,hostfwd=tcp::22223-:22 \
    -display none
