#!/bin/bash
# judge-args:
# judge-files: win11.qcow2
# judge-host:
# source: modelled on danwdart/VMs Proprietary/Windows/Supported/11/x86_64/run-virtio-emutpm.sh and ElizabethF2/OS-Lockdown qemu_test.sh; rewritten
# Windows 11: UEFI (a copy of the variables beside the script), swtpm, q35
HERE="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$HERE/tpm"
[ -f "$HERE/OVMF_VARS.fd" ] || cp /usr/share/OVMF/OVMF_VARS_4M.fd "$HERE/OVMF_VARS.fd"
swtpm socket --tpmstate dir="$HERE/tpm" --ctrl type=unixio,path="$HERE/tpm/sock" --tpm2 &
while [ ! -S "$HERE/tpm/sock" ]; do sleep 0.1; done
qemu-system-x86_64 -machine q35 -enable-kvm -m 2G -smp 2 \
    -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
    -drive if=pflash,format=raw,file="$HERE/OVMF_VARS.fd" \
    -chardev socket,id=chrtpm,path="$HERE/tpm/sock" \
    -tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-crb,tpmdev=tpm0 \
    -drive file=win11.qcow2,if=virtio \
    -nic user,model=e1000e,mac=52:54:00:00:41:01,hostfwd=tcp::22241-:3389 \
    -display none
