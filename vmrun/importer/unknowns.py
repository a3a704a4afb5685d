"""What vmrun import cannot work out of a script by itself, as exceptions the reader and the substitutions share."""


class Unresolved(Exception):
    """Only a running shell (or the caller) knows this value."""


class NeedsArgument(Unresolved):
    """``$1`` with no default, and the script's arguments not given (or too few) after ``--``."""


class PassThrough(Exception):
    """``"$@"``: the script hands its own arguments on to QEMU."""


def fd_from_a_file(written: str, path: str) -> str:
    """The one line for ``fd=$(cat FILE)``: a tap only whoever runs the script holds open."""
    return (
        f"{written}: the tap's file descriptor is a number read from {path} when the script runs, and which "
        "tap is open on it is known only to whoever runs the script; vmrun cannot know that tap"
    )


FD_HINT = "write the NIC by hand ({}) and leave this -netdev out of the script, then import again"
