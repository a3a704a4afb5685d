#!/bin/sh
# Hand-written modern equivalent of 05-vlan-tap.sh (QEMU 7.2 refuses vlan=).
kvm -m 512 -hda guest.qcow2 \
    -net nic,model=e1000,macaddr=52:54:00:00:00:05 \
    -net tap,ifname=tap0,script=no \
    -daemonize
