#!/bin/sh
# judge-args:
# judge-files: lab1.qcow2
# judge-host: dummy eth0; ip addr add 10.50.0.2/24 dev eth0; ip route add 224.0.0.0/4 dev eth0
# source: modelled on QEMU-era lab scripts joining VMs on a multicast socket hub (-net socket,vlan=N,mcast=); rewritten
# a lab VM on a multicast "wire", through hub 2
qemu-system-x86_64 -m 512 -hda lab1.qcow2 \
    -net nic,vlan=2,model=e1000,macaddr=52:54:00:00:52:01 \
    -net socket,vlan=2,mcast=230.0.0.1:22252 \
    -display none
