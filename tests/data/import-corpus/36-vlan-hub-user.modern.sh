#!/bin/sh
# Hand-written modern equivalent of 36-vlan-hub-user.sh (QEMU 7.2 refuses vlan=).
qemu-system-x86_64 -enable-kvm -m 1G -drive file=web.qcow2,if=virtio \
    -net nic,model=virtio,macaddr=52:54:00:00:36:01 \
    -net user,hostfwd=tcp::22236-:80 \
    -display none
