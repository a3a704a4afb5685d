"""The engines a profile can run on: QEMU started by vmrun itself, or a libvirt domain.

Both stand behind the same calls (see :mod:`vmrun.vm`); each builds what it
hands to the outside world with a pure function of the profile: the QEMU argv
(:mod:`vmrun.argv`) or the domain XML (:mod:`vmrun.engines.libvirt.xml`).
"""
