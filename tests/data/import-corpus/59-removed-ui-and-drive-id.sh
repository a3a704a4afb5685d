#!/bin/bash
# judge-args:
# judge-files: x86-0.img
# judge-host: tap tap0
# source: modelled on xgwang9/setup_scripts run_vm0.sh (a drive with an id nothing names, -net tap on a tap made beforehand) and darkacid/vfio-config wendell.sh (-nodefconfig, which QEMU has removed); rewritten
# an old lab VM: options QEMU has since removed, a disk named for the host only
qemu-system-x86_64 \
    -nodefconfig -realtime mlock=off -balloon virtio \
    -enable-kvm -smp 2 -m 1024 -nographic \
    -drive id=root,media=disk,file=x86-0.img,format=raw \
    -net nic,macaddr=52:54:00:de:00:11 -net tap,ifname=tap0,script=no,downscript=no \
    -pidfile vm0.pid 2>&1 | tee vm0.log
