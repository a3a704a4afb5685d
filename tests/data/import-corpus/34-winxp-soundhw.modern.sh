#!/bin/sh
# Hand-written modern equivalent of 34-winxp-soundhw.sh (QEMU 7.2 refuses -soundhw, -localtime and vlan=).
qemu-system-x86_64 -enable-kvm -hda winxp.qcow2 -m 512 -rtc base=localtime \
    -usb -device usb-tablet \
    -net nic,macaddr=52:54:00:00:34:01,model=rtl8139 \
    -net user,hostfwd=tcp::22234-:3389 \
    -audiodev none,id=snd0 -device AC97,audiodev=snd0 \
    -display none
