#!/bin/sh
# judge-args:
# judge-files: guest.qcow2
# judge-host: tap tap0
# tap0 is made at boot by /etc/network/interfaces (tunctl -u me)
kvm -m 512 -hda guest.qcow2 \
    -net nic,vlan=0,model=e1000,macaddr=52:54:00:00:00:05 \
    -net tap,vlan=0,ifname=tap0,script=no \
    -daemonize
