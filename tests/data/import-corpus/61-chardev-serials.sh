#!/bin/bash
# judge-args:
# judge-files: os.iso
# judge-host:
# source: modelled on ackOS-project/ackOS config/emulators/qemu.mk (serial ports given as -chardev + -serial chardev:ID: the console on stdio, the kernel's log in a file) with a debug shell on a Unix socket; rewritten
# a hobby OS: console on stdio, its log to a file, a shell on a socket, each a -chardev of its own
qemu-system-x86_64 -M q35 -m 512M \
    -chardev stdio,id=char0,signal=on \
    -chardev file,id=char1,path=kernel.log \
    -chardev socket,id=char2,path=shell.sock,server=on,wait=off \
    -serial chardev:char0 \
    -serial chardev:char1 \
    -serial chardev:char2 \
    -cdrom os.iso -boot d
