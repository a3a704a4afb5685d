#!/bin/sh
# judge-args:
# judge-files: dev.qcow2 src/main.c
# judge-host:
# source: modelled on Thomas-Tsai/clonezilla-ci win11-prepare.sh (-fsdev local + virtio-9p-pci) and the QEMU wiki's 9p page; rewritten
# a source tree shared over 9p, read-only
qemu-system-x86_64 -enable-kvm -m 1G \
    -drive file=dev.qcow2,if=virtio \
    -fsdev local,id=src,path=src,security_model=none,readonly=on \
    -device virtio-9p-pci,fsdev=src,mount_tag=src \
    -netdev user,id=n0,hostfwd=tcp::22243-:22 -device virtio-net-pci,netdev=n0,mac=52:54:00:00:43:01 \
    -display none
