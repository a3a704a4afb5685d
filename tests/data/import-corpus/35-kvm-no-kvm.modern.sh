#!/bin/sh
# Hand-written modern equivalent of 35-kvm-no-kvm.sh (QEMU 7.2 refuses every flag of it; -no-kvm is TCG).
qemu-system-x86_64 -accel tcg -m 512 \
    -drive file=old.qcow2,if=virtio \
    -net nic,model=virtio,macaddr=52:54:00:00:35:01 -net user \
    -display none
