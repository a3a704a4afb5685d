#!/bin/bash
# judge-args:
# judge-files: fs.qcow2 shared/README
# judge-host:
# source: modelled on the virtio-fs howto (virtio-fs.gitlab.io/howto-qemu.html) and QEMU's docs/tools/virtiofsd.rst examples; rewritten
# a host folder shared with virtiofsd, the guest's memory shared
cd "$(dirname "$0")"
virtiofsd --socket-path=/tmp/vfsd-42.sock -o source="$(pwd)/shared" &
while [ ! -S /tmp/vfsd-42.sock ]; do sleep 0.1; done
qemu-system-x86_64 -enable-kvm -m 1G \
    -object memory-backend-memfd,id=mem,size=1G,share=on -numa node,memdev=mem \
    -chardev socket,id=char0,path=/tmp/vfsd-42.sock \
    -device vhost-user-fs-pci,chardev=char0,tag=hostshare \
    -drive file=fs.qcow2,if=virtio \
    -nic user,model=virtio-net-pci,mac=52:54:00:00:42:01 \
    -display none
