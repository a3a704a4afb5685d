#!/bin/sh
# judge-args:
# judge-files: web.qcow2
# judge-host:
# source: modelled on the Arch wiki's QEMU page, "User-mode networking" with -net (2012 revision); rewritten
# one NIC and one slirp joined on hub 1, with a forward
qemu-system-x86_64 -enable-kvm -m 1G -drive file=web.qcow2,if=virtio \
    -net nic,vlan=1,model=virtio,macaddr=52:54:00:00:36:01 \
    -net user,vlan=1,hostfwd=tcp::22236-:80 \
    -display none
