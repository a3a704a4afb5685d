#!/bin/bash
# judge-args:
# judge-files: vm.qcow2
# judge-host: bridge br0
# br0 is the LAN bridge; qemu-bridge-helper needs "allow br0" in /etc/qemu/bridge.conf
cd "$(dirname "$0")"
qemu-system-x86_64 -enable-kvm -m 2048 -smp 2 \
  -drive file=vm.qcow2,if=virtio \
  -net nic,model=virtio \
  -net bridge,br=br0 &
wait
