#!/bin/sh
# judge-args:
# judge-files: node.qcow2
# judge-host:
# source: modelled on the QEMU wiki's old -net socket examples (Documentation/Networking); rewritten
# an old-style guest NIC on a socket backend (listening for a peer VM)
qemu-system-x86_64 -m 512 -hda node.qcow2 \
    -net nic,model=e1000,macaddr=52:54:00:00:33:01 \
    -net socket,listen=127.0.0.1:22233 \
    -display none
