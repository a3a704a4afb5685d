#!/bin/bash
# judge-args:
# judge-files: srv.qcow2
# judge-host:
# source: modelled on danwdart/VMs run scripts (sudo $QEMU_X86_64 ...); rewritten
# QEMU looked up with command -v, run under sudo -E, replacing the shell
set -e
QEMU_BIN="$(command -v qemu-system-x86_64 2>/dev/null)"
exec sudo -E "$QEMU_BIN" -enable-kvm -m 1G -smp 2 \
    -drive file=srv.qcow2,if=virtio \
    -netdev user,id=wan,hostfwd=tcp:127.0.0.1:22239-:22 \
    -device virtio-net-pci,netdev=wan,mac=52:54:00:00:39:01 \
    -display none
