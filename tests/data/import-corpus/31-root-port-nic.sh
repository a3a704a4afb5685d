#!/bin/bash
# judge-args:
# judge-files: q35.qcow2
# judge-host:
# source: modelled on ElizabethF2/OS-Lockdown Alt_OS_Util/dev/qemu_test.sh (root port + devices behind it); rewritten
# q35 with its NIC behind a PCIe root port the script makes (bus=rp1)
qemu-system-x86_64 -machine q35,accel=kvm -m 1G \
    -device pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1 \
    -device pcie-root-port,id=rp2,bus=pcie.0,chassis=2,slot=2 \
    -netdev user,id=n0,hostfwd=tcp::22231-:22 \
    -device virtio-net-pci,netdev=n0,mac=52:54:00:00:31:01,bus=rp1 \
    -drive file=q35.qcow2,if=none,id=hd0 \
    -device virtio-blk-pci,drive=hd0,bus=rp2 \
    -display none
