#!/bin/bash
# judge-args:
# judge-files: disk.qcow2 seed.img
# judge-host:
# source: modelled on the cloud-image launchers of a filesystem-fuzzer project found by code search (defaults set with : "${OS_IMAGE:="./disk.img"}", used quoted in the QEMU command); rewritten
# a cloud image whose paths and port are defaults the caller may override from the environment
: "${OS_IMAGE:="./disk.qcow2"}"
: "${MONITOR_PORT:=55555}"
: "${SSH_PORT:="2222"}"
: "${SEED_IMAGE:="./seed.img"}"

qemu-system-x86_64 \
  -machine accel=kvm,type=q35 \
  -m 1G \
  -nographic \
  -monitor tcp::"$MONITOR_PORT",server,nowait \
  -device virtio-net-pci,netdev=net0,mac=52:54:00:aa:bb:60 \
  -netdev user,id=net0,hostfwd=tcp::"$SSH_PORT"-:22 \
  -drive if=virtio,format=qcow2,file="$OS_IMAGE" \
  -drive if=virtio,format=raw,file="$SEED_IMAGE"
