#!/bin/bash
# judge-args:
# judge-files: disk.qcow2
# judge-host:
qemu-system-x86_64 -m 512 \
    -drive file=disk.qcow2,if=virtio \
    -netdev dgram,id=dg0,local.type=inet,local.host=127.0.0.1,local.port=22212,remote.type=inet,remote.host=127.0.0.1,remote.port=22213 \
    -device e1000,netdev=dg0,mac=52:54:00:00:00:11 \
    -display none
