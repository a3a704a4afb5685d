"""The libvirt engine: a profile run as a libvirt domain, on this host or on the one a URI names.

``xml`` turns the profile into domain XML (pure, golden-tested); ``domain``
creates, finds, stops and migrates domains through :mod:`vmrun.adapters.libvirt`.
Nothing here imports libvirt at import time: `vmrun --help` must stay fast.
"""
