"""The outside world, one module per system: libvirt, ovs (ovs-vsctl), qemuimg, iso; netlink is vmrun.adapters.netlink."""
