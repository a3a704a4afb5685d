#!/bin/bash
# judge-args:
# judge-files: dev.qcow2
# judge-host:
# source: modelled on danwdart/VMs (scripts that source shared QEMU_* settings) and quickvirt_config.sh patterns; rewritten
# the VM's settings in a file beside the script, sourced
cd "$(dirname "$0")"
. ./37-vm.conf
qemu-system-x86_64 -enable-kvm -m "$MEMORY" -smp "$CPUS" \
    -drive file="$DISK",if=virtio \
    -netdev user,id=n0,hostfwd=tcp::${SSH_PORT}-:22 \
    -device virtio-net-pci,netdev=n0,mac=$MAC \
    -display none
