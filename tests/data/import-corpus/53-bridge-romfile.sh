#!/bin/bash
# judge-args:
# judge-files: efi.qcow2
# judge-host: bridge br0
# source: modelled on UEFI guest scripts that give the NIC no option ROM (romfile=), joined to br0 by qemu-bridge-helper; rewritten
# a bridged NIC without its iPXE option ROM
qemu-system-x86_64 -enable-kvm -m 1G -drive file=efi.qcow2,if=virtio \
    -netdev bridge,id=hn0,br=br0 \
    -device virtio-net-pci,netdev=hn0,mac=52:54:00:00:53:01,romfile= \
    -display none
