#!/bin/bash
# judge-args:
# judge-files: server.qcow2
# judge-host:
# the "server" end of a point-to-point link; the client uses connect=127.0.0.1:22209
qemu-system-x86_64 -enable-kvm -m 1G \
	-drive file=server.qcow2,if=virtio \
	-nic user,model=virtio-net-pci,mac=52:54:00:00:09:01,hostfwd=tcp::22209-:22 \
	-netdev socket,id=p2p,listen=:22210 \
	-device virtio-net-pci,netdev=p2p,mac=52:54:00:00:09:02
