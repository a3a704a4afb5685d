#!/bin/bash
# Modern equivalent of 24-machine-accel-hvf.sh for a Linux host: accel=hvf -> tcg.
qemu-system-x86_64 -machine q35,accel=tcg -cpu host -m 2G \
  -drive file=debian.qcow2,if=virtio \
  -netdev user,id=n0,hostfwd=tcp::22224-:22 \
  -device virtio-net-pci,netdev=n0,mac=52:54:00:00:00:24 \
  -display none
