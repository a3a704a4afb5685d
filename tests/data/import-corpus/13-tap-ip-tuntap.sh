#!/bin/bash
# judge-args:
# judge-files: disk.qcow2
# judge-host: bridge br0
# make a tap on br0, run the VM, remove the tap again
TAP=tap0
BR=br0
sudo ip tuntap add dev $TAP mode tap
sudo ip link set $TAP master $BR
sudo ip link set $TAP up

sudo qemu-system-x86_64 -enable-kvm -m 2G \
    -drive file=disk.qcow2,if=virtio \
    -netdev tap,id=net0,ifname=$TAP,script=no,downscript=no \
    -device virtio-net-pci,netdev=net0,mac=52:54:00:00:00:13 \
    -display none

sudo ip link del $TAP
