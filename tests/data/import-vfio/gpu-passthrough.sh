#!/bin/bash
# judge-args:
# judge-files: win10.qcow2
# judge-host:
# source: modelled on ElizabethF2/OS-Lockdown Alt_OS_Util/dev/qemu_test.sh and the Arch wiki's "PCI passthrough via OVMF"; rewritten
# a GPU and its HDMI audio function passed through, behind a root port, UEFI
qemu-system-x86_64 -machine q35,accel=kvm -m 4G -smp 4 -cpu host,kvm=off \
    -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
    -device pcie-root-port,id=root0,bus=pcie.0,chassis=1 \
    -device vfio-pci,host=01:00.0,bus=root0,addr=0.0,multifunction=on,x-vga=on \
    -device vfio-pci,host=01:00.1,bus=root0,addr=0.1 \
    -drive file=win10.qcow2,if=virtio \
    -nic user,model=virtio-net-pci,mac=52:54:00:00:60:01 \
    -vga none -display none
