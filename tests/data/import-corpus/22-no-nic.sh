#!/bin/bash
# judge-args:
# judge-files: disk.qcow2
# judge-host:
# no NIC option: QEMU's default e1000 on user networking
qemu-system-x86_64 -enable-kvm -m 1G -hda disk.qcow2 -display none
