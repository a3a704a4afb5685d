#!/bin/sh

/home/rg/project/qemu-5.1.0/build/x86_64-softmmu/qemu-system-x86_64 \
    -enable-kvm \
    -m ${1:-8}G \
    -cpu kvm64,+vmx \
    -vga virtio \
    -display default \
    -smp ${2:-4} \
    -device e1000,netdev=net0,mac=00:16:3e:0c:21:28 \
    -netdev user,id=net0,hostfwd=tcp::19888-:22 \
    -device e1000,netdev=nic0,mac=00:16:3e:0c:12:27 \
    -netdev tap,id=nic0,br=jrgbr1,helper=/home/rg/project/qemu-5.1.0/build/qemu-bridge-helper,vhost=on \
    -device virtio-serial \
    -chardev spicevmc,id=vdagent,debug=0,name=vdagent \
    -device virtserialport,chardev=vdagent,name=com.redhat.spice.0 \
    -drive aio=threads,file=/home/rg/ubuntu/ubuntu-20.04.1.qcow2,if=virtio \
    -name jrgtest,process=testjrg,debug-threads=on \
    -spice port=8000,addr=172.17.81.244,disable-ticketing

#    -cdrom ./ubuntu-20.04.1-desktop-amd64.iso \	#用于初次安装ubuntu系统

#    -device e1000,netdev=net0,mac=00:16:3e:0c:21:28 \		#用于默认的qemu网卡配置,并转发ssh登陆
#    -netdev user,id=net0,hostfwd=tcp::19888-:22 \

#    -device e1000,netdev=net0,mac=00:16:3e:0c:22:19 \		#用于默认的qemu网卡配置
#    -netdev user,id=net0 \

#    -device e1000,netdev=nic0,mac=00:16:3e:0c:12:27 \		#用于自创建的网桥NAT模式
#    -netdev tap,id=nic0,br=jrgbr0,helper=/home/rg/project/qemu-5.1.0/build/qemu-bridge-helper,vhost=on \

#    -device virtio-net-pci,netdev=nic0,mac=00:16:3e:0c:12:29 \		#用于默认default网络的网桥NAT模式
#    -netdev tap,id=nic0,br=virbr0,helper=/home/rg/project/qemu-5.1.0/build/qemu-bridge-helper,vhost=on \

# jrgbr1 whose slave dev is ens1f0, guest set ip 172.17.81.x/24		#用于桥接到host主机网卡模式
#    -device e1000,netdev=nic0,mac=00:16:3e:0c:12:27 \
#    -netdev tap,id=nic0,br=jrgbr1,helper=/home/rg/project/qemu-5.1.0/build/qemu-bridge-helper,vhost=on
