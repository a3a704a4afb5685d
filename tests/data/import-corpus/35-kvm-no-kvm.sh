#!/bin/sh
# judge-args:
# judge-files: old.qcow2
# judge-host:
# source: modelled on qemu-kvm era scripts (Ubuntu community KVM pages, 2010); rewritten
# qemu-kvm's tuning flags, all removed since, on a guest run without KVM
kvm -no-kvm -no-kvm-irqchip -no-kvm-pit-reinjection -tdf -enable-nesting -m 512 \
    -drive file=old.qcow2,if=virtio \
    -net nic,model=virtio,macaddr=52:54:00:00:35:01 -net user \
    -display none
