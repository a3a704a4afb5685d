"""The libvirt engine: a profile run as a libvirt domain, on this host or on the one a URI names.

``xml`` turns the profile into domain XML (pure, golden-tested); ``up`` creates the domain
(asking ``host`` what the libvirt host has); ``vm`` is the running domain (``dom`` reads its
metadata and state); ``nics``, ``snapshots`` and ``migrate`` are what commands do to it. All
go through :mod:`vmrun.adapters.libvirt`.
Nothing here imports libvirt at import time: `vmrun --help` must stay fast.
"""
