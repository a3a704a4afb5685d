"""vmrun: a QEMU launcher and VM runner with the host's networking built in.

Data flows one way, one module per arrow::

    profile/ (TOML -> Profile)  ->  net/ (prepared host side)  ->  argv.py (or engines/libvirt/xml.py)
        ->  engines/ (qemu: launch.py starts QEMU, vm.py is the running VM; libvirt: a domain)  ->  QMP

Layers, lowest first; a module imports only from its own layer or lower ones, function-local
imports included, and the two engines never import each other (tests/unit/test_layers.py)::

    7  cli/                     thin commands, the one error boundary
    6  importer/ profiles doctor unit ssh complete viewer imageusers imagenew   what commands do besides a VM
    5  engines/__init__         up, find, status_all, gc, describe: the one place that picks an engine
    4  engines/qemu/  engines/libvirt/                          the two RunningVm implementations
    3  engines/base  engines/common                             the interface, its types, shared logic
    2  net/ devices/ hostnet/ argv accel cloudinit disks preflight show rundir datadir runstate summary guestwait display
       images/ (cloud image cache: catalogue, checksum files, download) sshkeys
    1  profile/                 TOML -> validated, frozen Profile
    0  adapters/ (libvirt, ovs, netlink, qmp, qga, qemuimg, iso, http, mountns) errors ui proc names files signals qemuopts trust
"""

__version__ = "0.1.0"
