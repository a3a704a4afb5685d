#!/bin/bash
# refusal: 8: the backslash on this line is followed by a blank, not by the line end
# source: modelled on start.sh files pasted from web pages, which keep a blank after a backslash; rewritten
# the blank after the backslash on the -smp line ends the command there in bash
qemu-system-x86_64 \
    -enable-kvm \
    -m 2G \
    -smp 2 \ 
    -drive file=disk.qcow2,if=virtio \
    -nic user,model=virtio-net-pci,mac=52:54:00:00:48:01
