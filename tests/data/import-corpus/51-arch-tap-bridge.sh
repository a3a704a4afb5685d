#!/bin/bash
# judge-args:
# judge-files: vm.qcow2
# judge-host: bridge br0
# source: modelled on the Arch wiki QEMU page, "Tap networking with QEMU" (ip tuntap + bridge, vhost off); rewritten
# a tap the script makes on br0, with a send buffer setting vmrun has no key for
TAP=tap51
sudo ip tuntap add dev "$TAP" mode tap
sudo ip link set "$TAP" master br0
sudo ip link set "$TAP" up
qemu-system-x86_64 -enable-kvm -m 1G -drive file=vm.qcow2,if=virtio \
    -netdev tap,id=t0,ifname="$TAP",script=no,downscript=no,vhost=off,sndbuf=1048576 \
    -device virtio-net-pci,netdev=t0,mac=52:54:00:00:51:01,id=nic0 \
    -display none
sudo ip link del "$TAP"
