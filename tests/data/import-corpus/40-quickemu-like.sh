#!/usr/bin/env bash
# judge-args:
# judge-files: ubuntu.qcow2
# judge-host:
# source: modelled on quickemu's generated QEMU command line (hostname= on the user netdev, virtio-net with id); rewritten
# the VM named after its folder, with quickemu-style defaults
VMNAME="ubuntu"
RAM="${RAM:-2G}"
SSH_PORT="${SSH_PORT:-22240}"
args=-enable-kvm
qemu-system-x86_64 -name "${VMNAME},process=${VMNAME}" ${args} \
    -machine q35,smm=off,vmport=off -m "${RAM}" -smp cores=2,threads=1 \
    -device virtio-net,netdev=nic -netdev user,hostname=${VMNAME},hostfwd=tcp::${SSH_PORT}-:22,id=nic \
    -device virtio-blk-pci,drive=SystemDisk \
    -drive id=SystemDisk,if=none,format=qcow2,file=${VMNAME}.qcow2 \
    -display none
