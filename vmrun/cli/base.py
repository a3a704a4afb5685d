"""What every command module shares: the Typer app, the one error boundary, common options, profile loading.

A command is ``@command()`` (or ``@command("add", group=nic_app)``) over a thin function: it parses
its options, makes one call into the library and prints. Heavy modules (qemu.qmp, pyroute2,
libvirt) are imported inside the commands that need them, so `vmrun --help` stays fast.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any, NoReturn, Optional, TypeVar

import typer

from vmrun import ui
from vmrun.errors import VmrunError

app = typer.Typer(
    help="Run QEMU guests from TOML profiles, host networking included.\n\n"
    "Example: vmrun up demo --wait   (then: vmrun ps, vmrun down demo)",
    no_args_is_help=True,
    add_completion=True,  # --install-completion, --show-completion; NAME arguments complete (vmrun/complete.py)
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

F = TypeVar("F", bound=Callable[..., Any])
_debug = False


def command(*args: Any, group: typer.Typer | None = None, **kwargs: Any) -> Callable[[F], F]:
    """``@app.command`` (or a sub-group's) plus the error boundary: a VmrunError becomes one line and an exit code."""

    def wrap(func: F) -> F:
        @functools.wraps(func)
        def run(*a: Any, **kw: Any) -> Any:
            as_json = bool(kw.get("as_json"))  # the command's --json: its errors are JSON too
            try:
                return func(*a, **kw)
            except VmrunError as e:
                if _debug:
                    _show_details(e.details())
                    raise
                _fail(e.message, e.hint, e.exit_code, as_json=as_json, details=e.details())
            except KeyboardInterrupt:
                _fail("interrupted", None, 130, as_json=as_json)
            except OSError as e:
                if _debug:
                    raise
                if isinstance(e, BrokenPipeError) and _stdout_gone():
                    # The reader of our output went away (`vmrun ps | head -1`): stop without a word, as a
                    # tool killed by SIGPIPE would; stdout goes to /dev/null so that exiting flushes nothing.
                    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                    raise typer.Exit(141) from None
                from vmrun.errors import FileError

                if e.filename is None:  # nothing below turned it into a VmrunError: no file to name either
                    _fail(
                        f"{e.strerror or e} (an OS error vmrun did not expect here)",
                        "run the command again as vmrun --debug ... to see where",
                        1,
                        as_json=as_json,
                    )
                err = FileError.from_os(e, doing="cannot use")
                _fail(err.message, err.hint, 1, as_json=as_json)

        (group or app).command(*args, **kwargs)(run)
        return func

    return wrap


def _stdout_gone() -> bool:
    """Is stdout a pipe or socket whose reader has gone (poll says POLLERR or POLLHUP for its write end)?"""
    import select

    poller = select.poll()
    try:
        poller.register(sys.stdout.fileno(), select.POLLOUT)
    except (OSError, ValueError):  # no file descriptor (a test's captured stdout), or closed
        return False
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


def _fail(
    message: str, hint: str | None, code: int, *, as_json: bool, details: dict[str, Any] | None = None
) -> NoReturn:
    """The one way a command fails: one line and a hint on stderr, or under --json one object on stdout
    (with the error's ``details``, QEMU's argv and output or what QMP was sent and answered, if it has any)."""
    if as_json:
        shown = {"error": message, "hint": hint, "exit": code, **({"details": details} if details else {})}
        print(json.dumps(shown, default=str), flush=True)
    else:
        ui.error(message, hint)
    raise typer.Exit(code) from None


def _show_details(details: dict[str, Any]) -> None:
    """Under --debug, before the traceback: what the error carries, one item a line."""
    for key, value in details.items():
        text = " ".join(value) if key == "argv" else value if isinstance(value, str) else json.dumps(value, default=str)
        print(f"vmrun: {key}: {text}", file=sys.stderr)


def _version(value: bool) -> None:
    if not value:
        return
    from importlib.metadata import PackageNotFoundError, version  # here: `vmrun --help` never pays for it

    try:
        print(f"vmrun {version('vmrun')}")
    except PackageNotFoundError:  # run from a source tree that was never installed
        from vmrun import __version__

        print(f"vmrun {__version__}")
    raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print vmrun's version and exit.")
    ] = False,
) -> None:
    global _debug
    _debug = debug


def complete_profiles(incomplete: str) -> list[str]:
    from vmrun.complete import profile_names  # only while a shell completes: not on `vmrun --help`

    return profile_names(incomplete)


def complete_vms(incomplete: str) -> list[str]:
    from vmrun.complete import vm_names

    return vm_names(incomplete)


Name = Annotated[
    str,
    typer.Argument(
        help="Profile name (looked up in ./profiles and the profile path) or a .toml path.",
        autocompletion=complete_profiles,
    ),
]
VmName = Annotated[str, typer.Argument(help="Name of a VM started by `vmrun up`.", autocompletion=complete_vms)]
MemoryOpt = Annotated[Optional[str], typer.Option("--memory", "-m", help="Override memory, e.g. 16G.")]
SmpOpt = Annotated[Optional[int], typer.Option("--smp", help="Override the vCPU count.")]
SetOpt = Annotated[Optional[list[str]], typer.Option("--set", help="Override any scalar: --set spice.port=8001.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
ConnectOpt = Annotated[
    Optional[str],
    typer.Option(
        "--connect",
        "-c",
        metavar="URI",
        help="A libvirt URI: the VM runs (or is looked for) under libvirt there, e.g. qemu+ssh://lab1/system.",
    ),
]


def load(name: str, memory: str | None, smp: int | None, sets: list[str] | None, cdrom: str | None = None):
    """Load a profile with the command line's overrides, each labelled as typed so that errors name the option."""
    from vmrun.profile.load import Override, load_profile, parse_override

    overrides = [parse_override(s) for s in sets or []]
    if cdrom is not None:  # a path typed here is taken from the current folder, not the profile's
        from vmrun.errors import UsageError

        if not os.path.isfile(cdrom):
            raise UsageError(f"{cdrom} is not a file", option=f"--cdrom {cdrom}")
        overrides.append(Override("cdrom", os.path.abspath(cdrom), f"--cdrom {cdrom}"))
    if memory is not None:
        overrides.append(Override("memory", memory, f"--memory {memory}"))
    if smp is not None:
        overrides.append(Override("smp", smp, f"--smp {smp}"))
    return load_profile(name, overrides=overrides)
