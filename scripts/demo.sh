#!/bin/bash
# Set up, build the tiny test guest, boot it with `vmrun up demo --wait` and
# show it answering HTTP through its port forward (127.0.0.1:8080 -> guest :80).
# The guest stays up afterwards; `scripts/demo.sh --stop` (or `vmrun down demo`) stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
VMRUN=.venv/bin/vmrun

if [[ ${1:-} == --stop ]]; then
    exec "$VMRUN" down demo
fi

scripts/setup.sh
GUEST=${VMRUN_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vmrun/test-guest}
scripts/build-test-guest.sh "$GUEST"

if "$VMRUN" ps --json | grep -q '"name": "demo"'; then
    "$VMRUN" down demo --force
fi
"$VMRUN" up demo --wait --set "kernel=$GUEST/vmlinuz" --set "initrd=$GUEST/initrd.img"

echo
echo "\$ curl -s http://127.0.0.1:8080/cgi-bin/ip    # asked of the guest, through the forward"
curl -sS --max-time 10 http://127.0.0.1:8080/cgi-bin/ip
echo
"$VMRUN" ps
echo
echo "The demo guest is still running. Try: $VMRUN console demo | $VMRUN log demo | $VMRUN down demo"
echo
echo "To type plain \`vmrun\`: pipx install .   (Debian 12 refuses a system-wide pip install; pipx puts it in ~/.local/bin)"
echo "  or: export PATH=\"$PWD/.venv/bin:\$PATH\"   Then: vmrun new NAME, vmrun help profile, vmrun profiles."
