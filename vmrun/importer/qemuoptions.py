"""What vmrun import knows of QEMU's options as words: which take no value, which always take the next word."""

# QEMU options that take no value (qemu-system-x86_64 -help, plus some QEMU 5.x ones still in scripts).
FLAGS = {
    "-enable-kvm", "-no-kvm", "-nographic", "-daemonize", "-snapshot", "-usb", "-no-reboot", "-no-shutdown",
    "-S", "-s", "-nodefaults", "-no-user-config", "-no-acpi", "-no-hpet", "-full-screen", "-mem-prealloc",
    "-win2k-hack", "-no-fd-bootchk", "-portrait", "-singlestep", "-preconfig", "-only-migratable",
    "-async-teardown", "-enable-sync-profile", "-xen-attach", "-xen-domid-restrict", "-audio-help",
    "-no-quit", "-alt-grab", "-ctrl-grab", "-sdl", "-curses", "-no-frame", "-show-cursor", "-enable-fips",
    "-localtime", "-nodefconfig", "-no-kvm-irqchip", "-no-kvm-pit-reinjection", "-semihosting", "-h", "-help",
    "-version",
}  # fmt: skip
# Options whose value may start with '-' (an -append of "-v"): always take the next word.
TAKES_VALUE = {
    "-m", "-smp", "-cpu", "-vga", "-display", "-machine", "-M", "-accel", "-name", "-kernel", "-initrd",
    "-append", "-drive", "-hda", "-hdb", "-hdc", "-hdd", "-cdrom", "-device", "-netdev", "-nic", "-net",
    "-chardev", "-spice", "-object", "-serial", "-monitor", "-qmp", "-qmp-pretty", "-pidfile", "-mon",
}  # fmt: skip
