#!/bin/bash
# judge-args:
# judge-files: lab.qcow2
# judge-host: bridge br0
set -x
ip tuntap add tap1 mode tap
brctl addif br0 tap1
ip link set dev tap1 up
qemu-system-x86_64 -enable-kvm -m 1536 \
  -drive file=lab.qcow2,if=virtio \
  -netdev tap,id=lan0,ifname=tap1,script=no,downscript=no \
  -device e1000,netdev=lan0,mac=52:54:00:00:00:14 \
  -display none
brctl delif br0 tap1
ip tuntap del tap1 mode tap
