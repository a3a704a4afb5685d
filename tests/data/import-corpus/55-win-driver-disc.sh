#!/bin/bash
# judge-args:
# judge-files: win10.qcow2 Win10.iso virtio-win.iso
# judge-host:
# source: modelled on niraami/dotfiles .VARIANT/rin/Apps/windows_kvm.sh (a Windows install: -boot order=d, -cdrom, a tablet, sound) with the virtio driver disc on a second CD-ROM as Windows install guides give it; rewritten
# a Windows install: the installer boots from CD, the driver disc beside it, today's sound card
qemu-system-x86_64 \
  -boot order=d \
  -drive file=win10.qcow2,if=virtio \
  -cdrom Win10.iso \
  -drive file=virtio-win.iso,media=cdrom \
  -m 2048 -smp 2 -machine type=q35,accel=kvm -enable-kvm \
  -usbdevice tablet \
  -net nic,model=virtio,macaddr=52:54:00:aa:bb:55 -net user,hostfwd=tcp::3389-:3389 \
  -audiodev none,id=snd0 -device intel-hda -device hda-duplex,audiodev=snd0
