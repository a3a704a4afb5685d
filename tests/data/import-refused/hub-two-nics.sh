#!/bin/sh
# judge-args:
# judge-files: disk.qcow2
# judge-host:
# two guest NICs on the same (legacy) hub, one slirp behind both
qemu-system-x86_64 -m 768 -drive file=disk.qcow2,if=virtio \
    -net nic,model=e1000,macaddr=52:54:00:00:27:01 \
    -net nic,model=virtio,macaddr=52:54:00:00:27:02 \
    -net user,hostfwd=tcp::22227-:22 \
    -display none
