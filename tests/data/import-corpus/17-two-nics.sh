#!/bin/bash
# judge-args:
# judge-files: fw.qcow2
# judge-host: bridge br0; tap tap1 br0
# firewall VM: WAN via user net, LAN on tap1 (in br0)
qemu-system-x86_64 -enable-kvm -m 1G \
    -drive file=fw.qcow2,if=virtio \
    -nic user,model=virtio-net-pci,mac=52:54:00:00:17:01,hostfwd=tcp::22217-:22 \
    -netdev tap,id=lan,ifname=tap1,script=no,downscript=no \
    -device e1000,netdev=lan,mac=52:54:00:00:17:02 \
    -display none
