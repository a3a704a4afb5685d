#!/bin/bash
# judge-args:
# judge-files: disk.qcow2 seed.iso
# judge-host: dummy ens160
# source: modelled on YiHuangDB/qemucloudinit run.sh (a macvtap opened as fd 4 on old -net lines, its MAC read from sysfs, a cloud-init seed as a second virtio disk with driver=, an index on the first); rewritten
# a cloud image on the LAN through a macvtap, as old -net lines give it
sudo ip link add link ens160 name macvtap10 type macvtap mode bridge
sudo ip link set macvtap10 up
qemu-system-x86_64 \
-enable-kvm -cpu host \
-m 1024 -smp 2 \
-drive file=disk.qcow2,index=0,cache=none,aio=threads,if=virtio \
-net nic,model=virtio,macaddr=$(cat /sys/class/net/macvtap10/address) \
-net tap,fd=4 4<>/dev/tap$(cat /sys/class/net/macvtap10/ifindex) \
-drive driver=raw,file=seed.iso,if=virtio \
-display none
#-boot order=n,strict=on \
sudo ip link del macvtap10
