#!/bin/sh
# Hand-written modern equivalent of 52-hub-socket-mcast.sh (QEMU 7.2 refuses vlan=).
qemu-system-x86_64 -m 512 -hda lab1.qcow2 \
    -net nic,model=e1000,macaddr=52:54:00:00:52:01 \
    -net socket,mcast=230.0.0.1:22252 \
    -display none
