#!/bin/bash
# Modern equivalent of 23-accel-hvf.sh for a Linux host: hvf -> tcg.
qemu-system-x86_64 \
    -accel tcg \
    -cpu host \
    -m 4G -smp 4 \
    -drive file=ubuntu.qcow2,if=virtio \
    -nic user,model=virtio-net-pci,mac=52:54:00:00:00:23,hostfwd=tcp::22223-:22 \
    -display none
