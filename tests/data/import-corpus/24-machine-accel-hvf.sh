#!/bin/bash
# judge-args:
# judge-files: debian.qcow2
# judge-host:
# macOS: q35 with hvf
qemu-system-x86_64 -machine q35,accel=hvf -cpu host -m 2G \
  -drive file=debian.qcow2,if=virtio \
  -netdev user,id=n0,hostfwd=tcp::22224-:22 \
  -device virtio-net-pci,netdev=n0,mac=52:54:00:00:00:24 \
  -display none
