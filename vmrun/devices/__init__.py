"""The VM's devices besides NICs and disks, one module each: what the profile asks, what the host gives, the argv part."""
