#!/bin/bash
# judge-args:
# judge-files: arch.qcow2
# judge-host:
# source: modelled on "QEMU=$(which qemu-system-x86_64)" launchers (e.g. daleclack/testing-repository termux scripts); rewritten
# QEMU found with which, held in a variable
QEMU=$(which qemu-system-x86_64)
if [ -z "$QEMU" ]; then
    echo "qemu-system-x86_64 not found" >&2
    exit 1
fi
"$QEMU" -enable-kvm -m 1G \
    -drive file=arch.qcow2,if=virtio \
    -nic user,model=virtio-net-pci,mac=52:54:00:00:38:01,hostfwd=tcp::22238-:22 \
    -display none
