#!/usr/bin/env bash
# judge-args:
# judge-files: disk.qcow2
# judge-host:
# usage: ./run.sh [memory]
set -e
MEMORY=${1:-2G}
DISK="$(dirname "$(realpath "$0")")/disk.qcow2"

qemu-system-x86_64 -enable-kvm -cpu host \
    -m "$MEMORY" -smp 4,sockets=1,cores=4 \
    -drive file="$DISK",format=qcow2,if=virtio \
    -netdev user,id=net0,hostfwd=tcp::22202-:22,hostfwd=tcp::28002-:80 \
    -device virtio-net-pci,netdev=net0,mac=52:54:00:12:34:02 \
    -usb -device usb-tablet \
    -vga virtio
