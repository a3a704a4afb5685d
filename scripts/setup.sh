#!/bin/bash
# Install what vmrun and its tests need on a Debian 12 machine (as root), then
# make the project's virtual environment in .venv. Safe to run again: it only
# installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
    qemu-system-x86 qemu-utils busybox-static dnsmasq-base cpio kmod xz-utils zstd
    openvswitch-switch libvirt-daemon-system libvirt-dev pkg-config
    # virt-xml-validate (libvirt-clients) runs xmllint (libxml2-utils): the domain XML tests call it
    libvirt-clients libxml2-utils
    # systemd-analyze verify checks `vmrun unit`'s text (tests/unit/test_unit_file.py); systemd need not run
    systemd
    # vmrun viewer's test: remote-viewer under Xvfb, screenshots with xwd (x11-apps)
    virt-viewer xvfb x11-apps
    # firmware = "uefi": OVMF and QEMU's firmware descriptors (/usr/share/qemu/firmware/*.json) vmrun chooses from
    ovmf
    # [cloud_init] seeds: an ISO tool (genisoimage has isoinfo); the tests read the YAML as cloud-init would (python3-yaml)
    genisoimage xorriso python3-yaml openssh-client
    nftables iptables passt iproute2 curl python3-venv python3-dev gcc
    # [tpm]: vmrun runs swtpm; libvirt runs swtpm_setup (swtpm-tools) before its own
    swtpm swtpm-tools
    # the test guest's agent and ssh server (scripts/build-test-guest.sh copies them in with their libraries)
    qemu-guest-agent dropbear-bin
    bridge-utils uml-utilities  # brctl, tunctl: the import corpus scripts (tests/data/import-corpus) run them
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    if [[ $EUID -ne 0 ]]; then
        echo "setup: missing Debian packages: ${missing[*]} (run as root to install them)" >&2
        exit 1
    fi
    echo "setup: installing ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

PYTHON=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.vmrun-installed
if [[ ! -f $stamp || pyproject.toml -nt $stamp ]]; then
    # compat mode: a plain path in a .pth, not an import hook that costs every run ~8 ms
    .venv/bin/pip install -q --disable-pip-version-check --config-settings editable_mode=compat -e '.[test]'
    touch "$stamp"
fi
# Byte-compile vmrun once: with PYTHONDONTWRITEBYTECODE set (as it may be), every command would
# otherwise compile its modules again, ~70 ms of each `vmrun up`.
.venv/bin/python -m compileall -q vmrun
echo "setup: ready (.venv/bin/vmrun)"
