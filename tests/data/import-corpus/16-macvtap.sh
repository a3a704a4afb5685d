#!/bin/bash
# judge-args:
# judge-files: disk.qcow2
# judge-host: dummy eth0
# macvtap on eth0: the guest gets its own address on the LAN
sudo ip link add link eth0 name macvtap0 type macvtap mode bridge
sudo ip link set macvtap0 up
MAC=$(cat /sys/class/net/macvtap0/address)
TAPDEV=/dev/tap$(cat /sys/class/net/macvtap0/ifindex)

qemu-system-x86_64 -enable-kvm -m 2G -smp 2 \
    -drive file=disk.qcow2,if=virtio \
    -netdev tap,fd=3,id=hostnet0 \
    -device virtio-net-pci,netdev=hostnet0,mac=$MAC \
    -display none \
    3<>$TAPDEV

sudo ip link del macvtap0
