#!/bin/bash
# refusal: 7: fd=$(cat /run/vmnet/tapfd): the tap's file descriptor is a number read from /run/vmnet/tapfd
# source: modelled on scripts started by a network helper that leaves the tap's fd number in a file; rewritten
# the tap was opened by whoever runs this script, its fd number written to a file
qemu-system-x86_64 -enable-kvm -m 1G \
    -drive file=disk.qcow2,if=virtio \
    -netdev tap,id=n0,fd=$(cat /run/vmnet/tapfd) \
    -device virtio-net-pci,netdev=n0,mac=52:54:00:00:49:01
