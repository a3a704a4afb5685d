#!/bin/sh
# judge-args:
# judge-files: router.qcow2
# judge-host:
# source: modelled on router-VM scripts that pass a host NIC through VFIO (vfio-pci,host=0000:03:00.0); rewritten
# a host NIC given whole to a router guest
qemu-system-x86_64 -enable-kvm -m 1G \
    -drive file=router.qcow2,if=virtio \
    -device vfio-pci,host=0000:03:00.0 \
    -display none
