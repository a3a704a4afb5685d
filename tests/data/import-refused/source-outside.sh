#!/bin/bash
# refusal: 5: source /etc/vms/web.conf is not read: it lies outside the script's folder
# source: modelled on /etc/default-style VM settings files sourced by init scripts; rewritten
# the VM's settings in a file elsewhere, which the import does not read
source /etc/vms/web.conf
qemu-system-x86_64 -enable-kvm -m "$VM_MEMORY" \
    -drive file="$VM_DISK",if=virtio \
    -nic user,model=virtio-net-pci,mac=52:54:00:00:50:01,hostfwd=tcp::22250-:80
