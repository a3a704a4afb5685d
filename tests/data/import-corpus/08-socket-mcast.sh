#!/bin/sh
# judge-args: 8
# judge-files: node.qcow2
# judge-host: dummy eth0; ip addr add 10.50.0.2/24 dev eth0; ip route add 224.0.0.0/4 dev eth0
# one node of a multicast "cluster": run it N times with different N
N=${1:-1}
qemu-system-x86_64 -m 256M \
  -drive file=node.qcow2,if=virtio,snapshot=on \
  -net nic,model=virtio,macaddr=52:54:00:00:00:0$N \
  -net socket,mcast=230.0.0.1:1234 \
  -display none
