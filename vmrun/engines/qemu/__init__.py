"""The QEMU engine: vmrun starts QEMU itself on this host and controls it over QMP.

``launch`` is `up` (lock, preflight, prepared host side, argv, QEMU, QMP); ``vm`` is one running
VM found again from its run folder (:class:`~vmrun.engines.qemu.vm.Vm`, the engine's
:class:`~vmrun.engines.base.RunningVm`); ``hotplug``, ``forwards``, ``snapshots`` (with
``snapdevices``) and ``serial`` are what commands do to it. No resident process: everything is
found again from the run folder at each command.
"""
