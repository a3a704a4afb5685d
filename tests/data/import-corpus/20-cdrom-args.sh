#!/bin/sh
# judge-args: alpine.iso
# judge-files: alpine.iso
# judge-host:
# boot any ISO: ./live.sh some.iso
qemu-system-x86_64 -enable-kvm -m 1G \
	-nic user,model=e1000 \
	-display none \
	-cdrom "$@"
