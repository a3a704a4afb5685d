#!/bin/bash
# judge-args:
# judge-files: windows.qcow2 installer.iso
# judge-host:
# source: modelled on zurgeg/lsw lsw.sh (q35, its own ich9-ahci with the disk and the installer on its ports as if=none drives); rewritten
# a Windows guest on SATA: the disk and the installer on an AHCI controller the script adds
qemu-system-x86_64 \
	-machine q35,accel=kvm \
	-m 2G -smp 2 \
	-device ich9-ahci,id=sata \
	-drive id=system,if=none,format=qcow2,file=windows.qcow2 \
	-device ide-hd,bus=sata.0,drive=system \
	-drive id=installer,if=none,media=cdrom,file=installer.iso \
	-device ide-cd,bus=sata.1,drive=installer \
	-vga qxl \
	-netdev user,id=n0,hostfwd=tcp::3390-:3389 -device e1000,netdev=n0,mac=52:54:00:aa:bb:57 \
	-boot order=dc
