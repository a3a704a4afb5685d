#!/bin/sh
# judge-args:
# judge-files: desk.qcow2
# judge-host:
# source: modelled on miacro's win7 script (-usbdevice host: and -device usb-host lines) found by code search; rewritten
# a USB security key passed through by vendor and product, on an xhci controller
qemu-system-x86_64 -enable-kvm -m 1G \
    -drive file=desk.qcow2,if=virtio \
    -device qemu-xhci,id=xhci \
    -device usb-host,bus=xhci.0,vendorid=0x1050,productid=0x0407 \
    -nic user,model=virtio-net-pci,mac=52:54:00:00:44:01 \
    -display none
