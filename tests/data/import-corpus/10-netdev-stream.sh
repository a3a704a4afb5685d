#!/bin/bash
# judge-args:
# judge-files: disk.qcow2
# judge-host:
# QEMU >= 7.2: -netdev stream replaces socket listen=/connect=
MEM=1G
qemu-system-x86_64 -m $MEM \
    -drive file=disk.qcow2,if=virtio \
    -netdev stream,id=st0,server=on,addr.type=inet,addr.host=127.0.0.1,addr.port=22211 \
    -device virtio-net-pci,netdev=st0,mac=52:54:00:00:00:10 \
    -display none
