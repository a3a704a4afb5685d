#!/bin/bash
# judge-args:
# judge-files: win10.qcow2
# judge-host: bridge br0
NAME=win10
sudo qemu-system-x86_64 -name $NAME -enable-kvm -cpu host -m 4G -smp 2 \
    -drive file=$NAME.qcow2,if=none,id=d0 \
    -device virtio-blk-pci,drive=d0 \
    -netdev bridge,id=hn0,br=br0 \
    -device e1000,netdev=hn0,mac=52:54:00:de:ad:07 \
    -usb -device usb-tablet \
    -vga std
