"""The outside world, one module per system: libvirt here; netlink is vmrun.netlink, OVS vmrun.net.ovs."""
