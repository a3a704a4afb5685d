#!/bin/bash
# judge-args:
# judge-files: disk.qcow2
# judge-host:
# source: modelled on forum-pasted start.sh files whose options end in a comma; rewritten
# options with a trailing comma, which QEMU passes over
qemu-system-x86_64 -enable-kvm -m 768 \
    -drive file=disk.qcow2,if=virtio, \
    -netdev user,id=nic0,hostfwd=tcp::22232-:22, \
    -device e1000,netdev=nic0,mac=52:54:00:00:32:01, \
    -display none
