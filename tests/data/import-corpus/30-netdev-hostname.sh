#!/bin/bash
# judge-args:
# judge-files: cloud.qcow2
# judge-host:
# source: modelled on cloud-image start scripts (e.g. Thomas-Tsai/clonezilla-ci dev/windows-cloudbase/win11-prepare.sh); rewritten
# a cloud image with slirp options vmrun has no key for (hostname, dnssearch) and a tuned virtio NIC
qemu-system-x86_64 -enable-kvm -m 1G -smp 2 \
    -drive file=cloud.qcow2,if=virtio \
    -netdev user,id=net0,hostname=builder,dnssearch=lan,hostfwd=tcp::22230-:22 \
    -device virtio-net-pci,netdev=net0,mac=52:54:00:00:30:01,ioeventfd=on,tx=bh \
    -display none
