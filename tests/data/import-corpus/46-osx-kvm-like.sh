#!/usr/bin/env bash
# judge-args:
# judge-files: OpenCore.qcow2 mac_hdd_ng.img
# judge-host:
# source: modelled on kholia/OSX-KVM OpenCore-Boot.sh (variables for RAM and CPUs, an args array flattened); rewritten
# a macOS-style guest: settings in variables, disks on AHCI, a vmxnet3 NIC with a fixed MAC
MY_OPTIONS="+ssse3,+sse4.2,+popcnt,+avx,+aes,+xsave,+xsaveopt,check"
ALLOCATED_RAM="2048" # MiB
CPU_SOCKETS="1"
CPU_CORES="2"
CPU_THREADS="2"
REPO_PATH="."

qemu-system-x86_64 -enable-kvm -m "$ALLOCATED_RAM" \
    -cpu Penryn,kvm=on,vendor=GenuineIntel,+invtsc,vmware-cpuid-freq=on,"$MY_OPTIONS" \
    -machine q35 \
    -smp "$CPU_THREADS",cores="$CPU_CORES",sockets="$CPU_SOCKETS" \
    -device qemu-xhci,id=xhci \
    -device usb-kbd,bus=xhci.0 -device usb-tablet,bus=xhci.0 \
    -device ich9-ahci,id=sata \
    -drive id=OpenCoreBoot,if=none,snapshot=on,format=qcow2,file="$REPO_PATH/OpenCore.qcow2" \
    -device ide-hd,bus=sata.2,drive=OpenCoreBoot \
    -drive id=MacHDD,if=none,file="$REPO_PATH/mac_hdd_ng.img",format=raw \
    -device ide-hd,bus=sata.4,drive=MacHDD \
    -netdev user,id=net0,hostfwd=tcp::22246-:22 \
    -device vmxnet3,netdev=net0,id=net0,mac=52:54:00:c9:18:27 \
    -display none
