"""The VM's devices beyond its NICs and disks: each a profile key, a host side (if it needs one) and an argv part.

Like :mod:`vmrun.net`, each module checks the host before anything starts (``preflight``), makes
and records what the device needs on the host (``prepare``, on `up`'s ExitStack), and says what
QEMU is given; the argv itself is built in :mod:`vmrun.argv`, purely. ``firmware`` (with
``descriptors``): UEFI and the VM's NVRAM; ``tpm``: swtpm; ``shares``: a virtiofsd per shared folder.
"""
