#!/bin/sh
# judge-args:
# judge-files: guest.qcow2
# judge-host: bridge br0
USER=root
tunctl -t tap0 -u $USER
brctl addif br0 tap0
ifconfig tap0 0.0.0.0 up 2>/dev/null || ip link set tap0 up
qemu-system-x86_64 -m 1024 -hda guest.qcow2 \
    -netdev tap,id=t0,ifname=tap0,script=no,downscript=no \
    -device virtio-net-pci,netdev=t0,mac=52:54:00:00:00:15 \
    -display none
tunctl -d tap0
