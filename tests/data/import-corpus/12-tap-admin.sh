#!/bin/bash
# judge-args:
# judge-files: router.qcow2
# judge-host: tap tap0
# tap0 belongs to the admin (made in /etc/network/interfaces), we just use it
qemu-system-x86_64 -enable-kvm -m 1G -smp 2 \
	-drive file=router.qcow2,if=virtio \
	-netdev tap,id=t0,ifname=tap0,script=no,downscript=no \
	-device virtio-net-pci,netdev=t0,mac=52:54:00:00:00:12 \
	-display none -daemonize -pidfile router.pid
