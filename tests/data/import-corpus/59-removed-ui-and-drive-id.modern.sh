#!/bin/bash
# Hand-written modern equivalent of 59-removed-ui-and-drive-id.sh (QEMU 7.2 refuses -nodefconfig, -realtime, -balloon).
qemu-system-x86_64 \
    -no-user-config -overcommit mem-lock=off -device virtio-balloon \
    -enable-kvm -smp 2 -m 1024 -nographic \
    -drive id=root,media=disk,file=x86-0.img,format=raw \
    -net nic,macaddr=52:54:00:de:00:11 -net tap,ifname=tap0,script=no,downscript=no \
    -pidfile vm0.pid 2>&1 | tee vm0.log
