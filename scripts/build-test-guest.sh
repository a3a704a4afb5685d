#!/usr/bin/env bash
# build-test-guest.sh - build the tiny Linux guest that vmrun's tests boot.
#
# What it builds, into a cache folder outside git (first argument, else
# $VMRUN_GUEST_DIR, else ${XDG_CACHE_HOME:-~/.cache}/vmrun/test-guest):
#   vmlinuz     Debian 12's stock 6.1 kernel (linux-image-6.1.0-N-amd64).
#   initrd.img  A busybox-static initramfs (gzip'd newc cpio, ~1.2 MB) whose
#               PID 1 is busybox init. At boot it loads the NIC drivers,
#               leases every eth* by DHCP (also NICs hot-plugged later),
#               serves HTTP on port 80 (/ says "vmrun test guest",
#               /cgi-bin/ip prints `ip -4 -o addr`, /cgi-bin/note?set=W
#               keeps W in /tmp (RAM), /cgi-bin/disk?write=W writes W to the
#               start of /dev/vda and syncs; both print what they hold;
#               /cgi-bin/efi says whether it booted UEFI, the SecureBoot
#               variable, and ?set=W writes W to a non-volatile variable),
#               /cgi-bin/tpm prints each /sys/class/tpm/tpmN and its TPM
#               version, "tpm0 version=2"; /cgi-bin/share?tag=T mounts the
#               shared folder tagged T on /mnt/T (virtiofs, else 9p) and
#               prints "type FS", then "file NAME TEXT" for each file in
#               it; &write=W first writes W to its file from-guest and says
#               "wrote W", or "write failed: WHY" on a read-only share) and
#               powers off on the
#               ACPI power button (QMP system_powerdown). A press made
#               before acpid runs (firmware, early kernel boot) is lost:
#               send it after "ready", resend or fall back to QMP quit.
# --- guest agent (begin) ---
#               The QEMU guest agent (Debian's qemu-ga, with the shared
#               libraries ldd names) serves the virtio-serial port
#               org.qemu.guest_agent.0 (/dev/virtio-ports/ is linked by hand
#               from /sys/class/virtio-ports, there is no udev); its power-off
#               runs /sbin/shutdown, a shim that powers off as the ACPI
#               button does. dropbear serves ssh on port 22 for root, whose
#               keys the agent writes (guest-ssh-add-authorized-keys) into
#               /root/.ssh/authorized_keys, as do a cloud-init seed's (a
#               CD-ROM labelled cidata: its user-data's "ssh-..." lines).
# --- guest agent (end) ---
#   stamp       Hash of this script + the kernel package built from; when it
#               matches, a re-run does nothing and exits at once.
# Why: tests need a real guest that boots in seconds under TCG and answers
# over the network under test, without any image download beyond one deb.
#
# Kernel command line: "console=ttyS0 quiet" (add "panic=-1" and give QEMU
# -no-reboot so a guest that panics makes QEMU exit instead of hanging).
# Console lines the tests wait for:
#   vmrun-guest: lease IFACE ADDR/PREFIX     each time an interface is leased
#   vmrun-guest: ready                       once httpd runs
#
# Why the module order matters: Debian's kernel has virtio, e1000 and the
# ACPI button as loadable modules, and the deb carries no modules.dep, so
# there is no modprobe to resolve dependencies. busybox insmod only loads
# the one file it is given and fails with "unknown symbol" if a module it
# needs is not loaded yet; hence each module comes after the ones it uses:
# virtio_ring -> virtio -> virtio_pci_{legacy,modern}_dev -> virtio_pci, and
# failover -> net_failover -> virtio_net; virtio_blk (a disk as /dev/vda)
# needs only virtio and virtio_ring. evdev and button go first (they
# need nothing): evdev gives the power button its /dev/input/event* node,
# which busybox acpid reads, and the earlier acpid runs the fewer ACPI
# power button presses are lost. The shared-folder modules come last
# (modinfo -F depends on the deb's .ko files): fuse -> virtiofs (which also
# needs virtio and virtio_ring), netfs -> fscache, 9pnet -> 9pnet_virtio,
# and 9p needs 9pnet, netfs and fscache.
#
# It installs nothing except, when missing, busybox-static, cpio and the
# decompressor for compressed modules (apt-get install -y, as root).
set -euo pipefail

# Loaded in exactly this order in the guest (see above). A module that is
# builtin or absent in the kernel version used is skipped.
# evdev+button come first so the power button works as early as possible.
MODULES=(evdev button virtio_ring virtio virtio_pci_legacy_dev
         virtio_pci_modern_dev virtio_pci virtio_blk failover net_failover virtio_net e1000 efivarfs
         fuse virtiofs netfs fscache 9pnet 9pnet_virtio 9p)
# --- guest agent (begin) ---
# virtio_console: the guest agent's virtio-serial port (/dev/vportNpM); it needs virtio and virtio_ring.
# The rest read a cloud-init seed's keys from its CD-ROM (IDE on pc): SCSI core, CD-ROM, ata_piix, ISO 9660.
MODULES+=(virtio_console scsi_common scsi_mod cdrom sr_mod libata ata_piix isofs)
# --- guest agent (end) ---

OUT=${1:-${VMRUN_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vmrun/test-guest}}
SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")
SCRIPT_HASH=$(sha256sum "$SCRIPT" | cut -d' ' -f1)

log() { echo "build-test-guest: $*" >&2; }
die() { log "error: $*"; exit 1; }

stamp_get() { sed -n "s/^$1=//p" "$OUT/stamp" 2>/dev/null || true; }

# Cheap fingerprint of apt's package lists: when they have not changed, the
# newest kernel package cannot have changed either, and apt-cache (about
# half a second here) need not run.
apt_lists_fp() {
    local f=(/var/lib/apt/lists/*Packages*)
    [[ -e ${f[0]} ]] || { echo none; return; }
    stat -c '%n %s %Y' "${f[@]}" | sha256sum | cut -d' ' -f1
}

# Sets KPKG and KVER: the kernel package linux-image-amd64 depends on (the
# newest 6.1 ABI), else the highest linux-image-6.1.0-N-amd64[-unsigned].
resolve_kernel() {
    KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-6\.1\.0-[0-9]*-amd64\(-unsigned\)\{0,1\}\)$/\1/p' |
        sed -n 1p) || true
    if [[ -z $KPKG ]]; then
        KPKG=$(apt-cache pkgnames linux-image-6.1.0- 2>/dev/null |
            grep -E '^linux-image-6\.1\.0-[0-9]+-amd64(-unsigned)?$' |
            sort -V | tail -n 1) || true
    fi
    [[ -n $KPKG ]] || return 1
    KVER=$(apt-cache show --no-all-versions "$KPKG" 2>/dev/null |
        sed -n 's/^Version: //p' | sed -n 1p) || true
    [[ -n $KVER ]]
}

is_current() {
    [[ -s $OUT/vmlinuz && -s $OUT/initrd.img && -s $OUT/stamp ]] || return 1
    [[ $(stamp_get script) == "$SCRIPT_HASH" ]] || return 1
    local fp
    fp=$(apt_lists_fp)
    [[ $(stamp_get apt_lists) == "$fp" ]] && return 0
    # apt lists changed since the build: is the newest kernel still ours?
    resolve_kernel || return 1
    [[ $(stamp_get kernel) == "$KPKG $KVER" ]] || return 1
    sed "s/^apt_lists=.*/apt_lists=$fp/" "$OUT/stamp" >"$OUT/.stamp.new"
    mv -f "$OUT/.stamp.new" "$OUT/stamp"
}

if is_current; then
    echo "test guest up to date: $OUT"
    exit 0
fi

# ---------------------------------------------------------------- build ---

command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
    die "needs a Debian system (apt-get, dpkg-deb)"

mkdir -p "$OUT"
if command -v flock >/dev/null; then
    exec 9>"$OUT/.lock"
    flock 9    # one build at a time; a waiter finds the result current
    if is_current; then echo "test guest up to date: $OUT"; exit 0; fi
fi
rm -rf "$OUT"/.stage.* "$OUT/.stamp.new"    # leftovers of a killed build

WORK=
STAGE=
cleanup() { rm -rf "${WORK:-}" "${STAGE:-}"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vmrun-test-guest.XXXXXX")
STAGE=$(mktemp -d "$OUT/.stage.XXXXXX")   # same filesystem as $OUT: mv is a rename
START=$SECONDS

APT_UPDATED=
apt_update_once() {
    [[ -n $APT_UPDATED ]] && return 0
    APT_UPDATED=1
    log "apt-get update"
    apt-get update -qq >&2
}

# apt_install PKG...: the only thing this script ever installs.
apt_install() {
    [[ $EUID -eq 0 ]] || die "missing packages: $* (run: apt-get install -y $*)"
    log "apt-get install -y $*"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "$@" >&2 ||
        { apt_update_once && apt-get install -y -qq --no-install-recommends "$@" >&2; }
}

pkg_installed() {
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

need=()
pkg_installed busybox-static || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
((${#need[@]} == 0)) || apt_install "${need[@]}"
BUSYBOX=/bin/busybox
[[ -x $BUSYBOX ]] || die "$BUSYBOX missing after installing busybox-static"

# ------------------------------------------------------------- kernel ---

if ! resolve_kernel; then
    [[ $EUID -eq 0 ]] || die "no linux-image-6.1.0-*-amd64 known to apt (run apt-get update)"
    apt_update_once
    resolve_kernel || die "no linux-image-6.1.0-*-amd64 package found by apt-cache"
fi
log "kernel package $KPKG $KVER"

apt_opts=()
[[ $EUID -eq 0 ]] && apt_opts=(-o APT::Sandbox::User=root)   # _apt cannot write $WORK
(cd "$WORK" && apt-get download -qq "${apt_opts[@]}" "$KPKG=$KVER" >&2)
debs=("$WORK"/*.deb)
[[ -f ${debs[0]} ]] || die "apt-get download $KPKG=$KVER produced no .deb"
dpkg-deb -x "${debs[0]}" "$WORK/k"

kdirs=("$WORK"/k/lib/modules/*)
[[ -d ${kdirs[0]} && ${#kdirs[@]} -eq 1 ]] || die "unexpected /lib/modules layout in $KPKG"
MODDIR=${kdirs[0]}
KREL=${MODDIR##*/}
[[ -f $WORK/k/boot/vmlinuz-$KREL ]] || die "no /boot/vmlinuz-$KREL in $KPKG"
cp "$WORK/k/boot/vmlinuz-$KREL" "$STAGE/vmlinuz"

# ---------------------------------------------------------- initramfs ---

R=$WORK/root
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,root,var/log,lib/modules}
mkdir -p "$R"/etc/acpi/PWRF "$R"/www/cgi-bin
ln -s ../run "$R/var/run"
cp "$BUSYBOX" "$R/bin/busybox"
while read -r applet; do
    [[ $applet == bin/busybox || -e $R/$applet || -L $R/$applet ]] && continue
    ln -s /bin/busybox "$R/$applet"
done < <("$BUSYBOX" --list-full)
ln -s bin/busybox "$R/init"    # the kernel runs /init: busybox init as PID 1

loaded=()
for m in "${MODULES[@]}"; do
    f=$(find "$MODDIR/kernel" \( -name "$m.ko" -o -name "$m.ko.*" \) -print -quit)
    if [[ -z $f ]]; then
        if grep -q "/$m\.ko\$" "$MODDIR/modules.builtin" 2>/dev/null; then
            log "module $m is builtin in $KREL: skipped"
        else
            log "warning: module $m not found in $KREL: skipped"
        fi
        continue
    fi
    dst=$R/lib/modules/$m.ko
    case $f in
        *.ko)     cp "$f" "$dst" ;;
        *.ko.xz)  command -v xz >/dev/null || apt_install xz-utils
                  xz -dc "$f" >"$dst" ;;
        *.ko.zst) command -v zstd >/dev/null || apt_install zstd
                  zstd -qdc "$f" >"$dst" ;;
        *.ko.gz)  gzip -dc "$f" >"$dst" ;;
        *) die "unknown module compression: $f" ;;
    esac
    loaded+=("$m")
done
printf '%s\n' "${loaded[@]}" >"$R/etc/modules"

cat >"$R/etc/inittab" <<'EOF'
::sysinit:/etc/rc
ttyS0::respawn:/bin/sh
::ctrlaltdel:/bin/kill -USR2 1
::shutdown:/bin/echo "vmrun-guest: powering off"
EOF

cat >"$R/etc/rc" <<'EOF'
#!/bin/sh
# sysinit: runs once under busybox init, which stays PID 1 afterwards.
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
hostname vmrun-guest
ip link set dev lo up
# ACPI power button (QMP system_powerdown) -> /etc/acpi/PWRF/00000080.
# acpid opens /dev/input/event* only when it starts, so it starts right
# after evdev+button and before the NIC drivers. A press before that is lost.
acpid_started=
start_acpid() {
    [ -n "$acpid_started" ] && return
    acpid -c /etc/acpi -l /run/acpid.log -p /run/acpid.pid
    acpid_started=1
}
for m in $(cat /etc/modules); do
    insmod /lib/modules/$m.ko || echo "vmrun-guest: insmod $m failed"
    [ $m = button ] && start_acpid
done
start_acpid
[ -d /sys/firmware/efi/efivars ] && mount -t efivarfs efivarfs /sys/firmware/efi/efivars
echo "vmrun-guest: kernel $(uname -r) cmdline: $(cat /proc/cmdline)"
echo "vmrun-guest: modules: $(cut -d' ' -f1 /proc/modules | tr '\n' ' ')"
echo "vmrun-guest: interfaces: $(ls /sys/class/net | tr '\n' ' ')"
/etc/netwatch </dev/null >/dev/null 2>&1 &
# --- guest agent (begin) ---
mkdir -p /dev/pts /dev/virtio-ports && mount -t devpts devpts /dev/pts
for d in /sys/class/virtio-ports/*; do
    [ -e "$d/name" ] && ln -sf "../${d##*/}" "/dev/virtio-ports/$(cat "$d/name")"
done
if [ -e /dev/virtio-ports/org.qemu.guest_agent.0 ]; then
    qemu-ga -d -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0 -f /run/qemu-ga.pid -t /run \
        -l /run/qemu-ga.log && echo "vmrun-guest: guest agent"
fi
# The keys of a cloud-init seed (a CD-ROM labelled cidata) for root: what a cloud image would do.
mkdir -p /mnt/seed /root/.ssh
for cd in /dev/sr*; do
    [ -e "$cd" ] && mount -t iso9660 -o ro "$cd" /mnt/seed 2>/dev/null || continue
    if [ -f /mnt/seed/user-data ]; then
        grep -o '"ssh-[^"]*"' /mnt/seed/user-data | tr -d '"' >>/root/.ssh/authorized_keys
        echo "vmrun-guest: seed keys $(grep -c . /root/.ssh/authorized_keys)"
    fi
    umount /mnt/seed
done
dropbear -R -p 22 -P /run/dropbear.pid && echo "vmrun-guest: ssh"
# --- guest agent (end) ---
httpd -p 80 -h /www
echo "vmrun-guest: ready"
EOF

cat >"$R/etc/netwatch" <<'EOF'
#!/bin/sh
# Every second: bring up and DHCP every eth* not handled yet (keyed by
# ifindex, so a NIC unplugged and plugged again is handled again).
mkdir -p /run/netwatch
while true; do
    for mark in /run/netwatch/*; do
        [ -e "$mark" ] || continue
        name=${mark##*/}; i=${name%.*}; idx=${name##*.}
        [ "$(cat /sys/class/net/$i/ifindex 2>/dev/null)" = "$idx" ] && continue
        kill "$(cat /run/udhcpc.$i.pid 2>/dev/null)" 2>/dev/null
        rm -f "$mark" /run/udhcpc.$i.pid
    done
    for d in /sys/class/net/eth*; do
        [ -e "$d" ] || continue
        i=${d##*/}
        idx=$(cat $d/ifindex 2>/dev/null) || continue
        [ -e /run/netwatch/$i.$idx ] && continue
        : >/run/netwatch/$i.$idx
        ip link set dev $i up
        udhcpc -b -T 1 -t 5 -A 2 -i $i -s /etc/udhcpc.script -p /run/udhcpc.$i.pid \
            >/dev/null 2>&1 &
    done
    sleep 1
done
EOF

cat >"$R/etc/udhcpc.script" <<'EOF'
#!/bin/sh
# busybox udhcpc hook: $1 is the event; interface, ip, mask, router in env.
case "$1" in
deconfig)
    ip -4 addr flush dev "$interface"
    ip link set dev "$interface" up
    ;;
bound|renew)
    new="$ip/${mask:-24}"
    cur=$(ip -4 -o addr show dev "$interface" | sed -n 's/.* inet \([^ ]*\) .*/\1/p')
    if [ "$cur" != "$new" ]; then
        ip -4 addr flush dev "$interface"
        ip addr add "$new" ${broadcast:+broadcast $broadcast} dev "$interface"
        echo "vmrun-guest: lease $interface $new" >/dev/console
    fi
    # default route only via the first interface that got one
    if [ -n "$router" ] && ! ip -4 route show | grep -q '^default'; then
        ip route add default via "${router%% *}" dev "$interface"
    fi
    ;;
esac
exit 0
EOF

cat >"$R/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
# ACPI power button: SIGUSR2 makes busybox init run ::shutdown and power off.
echo "vmrun-guest: power button" >/dev/console
kill -USR2 1
EOF

echo 'vmrun test guest' >"$R/www/index.html"
cat >"$R/www/cgi-bin/ip" <<'EOF'
#!/bin/sh
echo "Content-Type: text/plain"
echo
ip -4 -o addr
EOF

# What a test changes in the guest: a word in RAM (tmpfs), a word on the disk.
# Only letters, digits and '-' are taken from the query.
cat >"$R/www/cgi-bin/note" <<'EOF'
#!/bin/sh
echo "Content-Type: text/plain"
echo
word=$(echo "${QUERY_STRING#set=}" | tr -cd 'A-Za-z0-9-')
[ "${QUERY_STRING#set=}" != "$QUERY_STRING" ] && echo "$word" >/tmp/note
cat /tmp/note 2>/dev/null
EOF
cat >"$R/www/cgi-bin/disk" <<'EOF'
#!/bin/sh
echo "Content-Type: text/plain"
echo
word=$(echo "${QUERY_STRING#write=}" | tr -cd 'A-Za-z0-9-')
if [ "${QUERY_STRING#write=}" != "$QUERY_STRING" ]; then
    printf 'vmrun-disk:%s\n' "$word" | dd of=/dev/vda bs=512 conv=sync,fsync 2>/dev/null || echo "write failed"
fi
dd if=/dev/vda bs=64 count=1 2>/dev/null | tr -cd 'A-Za-z0-9:-'
echo
EOF

# UEFI: "efi yes|no", "secureboot N" (the SecureBoot variable's value byte), "var W" (VmrunTest, a
# non-volatile variable: ?set=W writes it; efivarfs wants attributes and data in one write).
cat >"$R/www/cgi-bin/efi" <<'EOF'
#!/bin/sh
echo "Content-Type: text/plain"
echo
V=/sys/firmware/efi/efivars
VAR=$V/VmrunTest-5d7a3c52-0f6b-4b4e-9d8a-6c2e1f0a9b3d
[ -d /sys/firmware/efi ] && echo "efi yes" || echo "efi no"
sb=$V/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c
[ -e $sb ] && echo "secureboot $(dd if=$sb bs=1 skip=4 count=1 2>/dev/null | od -An -tu1 | tr -d ' ')"
word=$(echo "${QUERY_STRING#set=}" | tr -cd 'A-Za-z0-9-')
if [ "${QUERY_STRING#set=}" != "$QUERY_STRING" ] && [ -n "$word" ]; then
    [ -e $VAR ] && chattr -i $VAR 2>/dev/null
    printf '\007\000\000\000%s' "$word" >/tmp/efivar
    cat /tmp/efivar >$VAR || echo "write failed"
fi
[ -e $VAR ] && echo "var $(tail -c +5 $VAR)"
EOF

# The TPM the guest sees ([tpm]): Debian's kernel has the TPM core, CRB and TIS built in.
cat >"$R/www/cgi-bin/tpm" <<'EOF'
#!/bin/sh
echo "Content-Type: text/plain"
echo
for d in /sys/class/tpm/tpm*; do
    [ -e "$d" ] && echo "${d##*/} version=$(cat "$d/tpm_version_major" 2>/dev/null)"
done
echo end
EOF

# A shared folder ([[shares]]): mounted on first ask by its tag, virtiofs first, then 9p.
# Only letters, digits, '.', '_' and '-' are taken from the tag, letters, digits and '-' from W.
cat >"$R/www/cgi-bin/share" <<'EOF'
#!/bin/sh
echo "Content-Type: text/plain"
echo
tag=; word=; write=
IFS='&'
for kv in $QUERY_STRING; do
    case $kv in
        tag=*) tag=${kv#tag=} ;;
        write=*) write=1; word=${kv#write=} ;;
    esac
done
unset IFS
tag=$(echo "$tag" | tr -cd 'A-Za-z0-9._-')
word=$(echo "$word" | tr -cd 'A-Za-z0-9-')
[ -n "$tag" ] || { echo "no tag"; exit 0; }
mnt=/mnt/$tag
if ! grep -q " $mnt " /proc/mounts; then
    mkdir -p "$mnt"
    mount -t virtiofs "$tag" "$mnt" 2>/dev/null ||
        mount -t 9p -o trans=virtio,version=9p2000.L "$tag" "$mnt" 2>/dev/null ||
        { echo "mount failed"; exit 0; }
fi
echo "type $(awk -v m="$mnt" '$2 == m { print $3 }' /proc/mounts)"
if [ -n "$write" ]; then
    if err=$( (echo "$word" >"$mnt/from-guest") 2>&1 ) && sync; then
        echo "wrote $word"
    else
        echo "write failed: ${err##*: }"
    fi
fi
for f in "$mnt"/*; do
    [ -f "$f" ] && echo "file ${f##*/} $(head -c 64 "$f" | tr -cd 'A-Za-z0-9 -')"
done
echo end
EOF

# --- guest agent (begin) ---
# qemu-ga and dropbear with every shared library ldd names (and the loader), at the same paths.
pkg_installed qemu-guest-agent && pkg_installed dropbear-bin || apt_install qemu-guest-agent dropbear-bin
copy_with_libs() {
    local bin=$1 lib
    cp -L "$bin" "$R$bin"
    for lib in $(ldd "$bin" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p'); do
        [[ -e $R$lib ]] && continue
        mkdir -p "$R$(dirname "$lib")"
        cp -L "$lib" "$R$lib"
    done
}
rm -f "$R/usr/sbin/qemu-ga" "$R/usr/sbin/dropbear" "$R/sbin/shutdown"    # not busybox applets here
copy_with_libs /usr/sbin/qemu-ga
copy_with_libs /usr/sbin/dropbear
mkdir -p "$R/etc/dropbear" "$R/root/.ssh"
chmod 700 "$R/root" "$R/root/.ssh"
echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"
echo 'root:x:0:' >"$R/etc/group"
echo '/bin/sh' >"$R/etc/shells"
# The agent's guest-shutdown runs `/sbin/shutdown -P +0 MESSAGE` (-r reboots): busybox init does it.
cat >"$R/sbin/shutdown" <<'EOF'
#!/bin/sh
echo "vmrun-guest: shutdown $*" >/dev/console
case " $* " in *" -r "*) kill -TERM 1 ;; *) kill -USR2 1 ;; esac
EOF
chmod 755 "$R/sbin/shutdown"
# --- guest agent (end) ---
chmod 755 "$R"/etc/rc "$R"/etc/netwatch "$R"/etc/udhcpc.script \
    "$R"/etc/acpi/PWRF/00000080 "$R"/www/cgi-bin/ip "$R"/www/cgi-bin/note "$R"/www/cgi-bin/disk \
    "$R"/www/cgi-bin/efi "$R"/www/cgi-bin/tpm "$R"/www/cgi-bin/share
chmod 1777 "$R/tmp"
# Debian's udhcpc default script path, in case anything runs it without -s.
mkdir -p "$R/etc/udhcpc"
ln -s ../udhcpc.script "$R/etc/udhcpc/default.script"

find "$R" -exec touch -h -d @0 {} +    # same inputs, same bytes
(cd "$R" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
    cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) |
    gzip -9n >"$STAGE/initrd.img"

cat >"$STAGE/stamp" <<EOF
script=$SCRIPT_HASH
kernel=$KPKG $KVER
release=$KREL
modules=${loaded[*]}
apt_lists=$(apt_lists_fp)
EOF

# Into place: each rename is atomic; the stamp goes first and comes back
# last, so a half-finished update is never taken as current.
rm -f "$OUT/stamp"
mv -f "$STAGE/vmlinuz" "$OUT/vmlinuz"
mv -f "$STAGE/initrd.img" "$OUT/initrd.img"
mv -f "$STAGE/stamp" "$OUT/stamp"

log "kernel $KREL ($KPKG $KVER), modules: ${loaded[*]}"
log "initrd $(stat -c %s "$OUT/initrd.img") bytes, vmlinuz $(stat -c %s "$OUT/vmlinuz") bytes, $((SECONDS - START)) s"
echo "test guest built: $OUT"
