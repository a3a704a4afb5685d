"""What vmrun import cannot work out of a script by itself, as exceptions the reader and the substitutions share."""


class Unresolved(Exception):
    """Only a running shell (or the caller) knows this value."""


class NeedsArgument(Unresolved):
    """``$1`` with no default, and the script's arguments not given (or too few) after ``--``."""


class PassThrough(Exception):
    """``"$@"``: the script hands its own arguments on to QEMU."""
