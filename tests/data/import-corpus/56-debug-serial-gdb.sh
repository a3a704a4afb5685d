#!/bin/bash
# judge-args:
# judge-files: hd.img cd.iso
# judge-host:
# source: modelled on evanpw/eos debug.sh and leesh3288/CTF 2020/TWCTF_2020/eebpf/run.sh (a gdb stub on all addresses, the monitor sent nowhere); the second and third serial ports as OS-development scripts add them; rewritten
# a hobby OS under a debugger: console on stdio, a log port on TCP, a trace port in a file
qemu-system-x86_64 -m 256 -smp 2 \
    -serial stdio \
    -serial tcp::4555,server,nowait \
    -serial file:ttyS2.log \
    -drive file=hd.img,format=raw -cdrom cd.iso -boot order=dc,menu=on \
    -gdb tcp::4444 \
    -monitor /dev/null --no-reboot
