#!/bin/sh
# judge-args:
# judge-files: arch.qcow2
# judge-host:
# old-school: legacy -net pair, log to vm.log
qemu-system-x86_64 -enable-kvm -m 1024 \
  -hda arch.qcow2 \
  -net nic -net user,hostfwd=tcp::22203-:22 \
  -display none 2>&1 | tee vm.log
