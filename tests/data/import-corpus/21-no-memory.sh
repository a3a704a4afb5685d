#!/bin/sh
# judge-args:
# judge-files: tiny.qcow2
# judge-host:
# no -m: QEMU's default (128M) is enough for this one
qemu-system-x86_64 -drive file=tiny.qcow2,if=virtio \
  -nic user,model=virtio-net-pci,mac=52:54:00:00:00:21 \
  -display none
