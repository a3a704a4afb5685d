"""Host networks, set up once and shared by VMs: `vmrun net` and a profile's ``[[networks]]``.

    spec           checks and defaults of a network; a libvirt network's XML (pure)
    libvirt_nets   libvirt networks: create (persistent, autostart), persist, start, stop, delete, list
    linux_bridge   a Linux bridge over a NIC; the Linux bridges there are
    ipmove         a NIC's addresses and routes moved onto its bridge, or all put back
    bridge_config  the same bridge for NetworkManager or systemd-networkd, printed
    ovs_bridge     Open vSwitch bridges
    acl            `allow BRIDGE` in qemu-bridge-helper's bridge.conf
    listing        `vmrun net list`
    ensure         `vmrun up` makes the profile's missing networks

Unlike a NIC's host side (vmrun/net), nothing here belongs to a VM: `vmrun down` leaves it.
"""
