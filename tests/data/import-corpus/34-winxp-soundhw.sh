#!/bin/sh
# judge-args:
# judge-files: winxp.qcow2
# judge-host:
# source: modelled on sw2wolf/qachina db/doc/OPENBSD/bin/qemu-xp.sh and sujayv/VMI-based-IDS-using-SDN VMcreate.sh; rewritten
# a Windows XP guest as old scripts ran it: -soundhw, -localtime, -usbdevice tablet, a vlan hub
qemu-system-x86_64 -enable-kvm -hda winxp.qcow2 -m 512 -localtime \
    -soundhw ac97 -usb -usbdevice tablet \
    -net nic,vlan=0,macaddr=52:54:00:00:34:01,model=rtl8139 \
    -net user,vlan=0,hostfwd=tcp::22234-:3389 \
    -display none
