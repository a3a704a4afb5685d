"""vmrun: a QEMU launcher and VM runner with the host's networking built in.

Data flows one way, one module per arrow::

    profile/ (TOML -> Profile)  ->  net/ (prepared host side)  ->  argv.py
        ->  launch.py (running QEMU)  ->  vm.py (one running VM: state, lock, QMP, down)
"""

__version__ = "0.1.0"
