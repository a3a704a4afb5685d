"""Commands on profiles as files: new, help, profiles, edit, clone."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Optional

import typer

from vmrun import ui
from vmrun.cli.base import (
    JsonOpt,
    Name,
    command,
)
from vmrun.errors import UsageError

NewName = Annotated[str, typer.Argument(help="The new profile's name (also the VM's name).")]


ImageOpt = Annotated[
    Optional[str],
    typer.Option("--image", metavar="N", help="Boot a cached cloud image (vmrun image pull N): overlay, seed, ssh."),
]


PRESETS = ("windows", "linux")  # profile/presets.py
PresetOpt = Annotated[
    Optional[str],
    typer.Option(
        "--preset",
        metavar="P",
        help="A whole desktop VM: windows (UEFI + Secure Boot, TPM, SATA, e1000e, a virtio-win CD-ROM) or linux.",
    ),
]


@command()
def new(name: NewName, *, image: ImageOpt = None, preset: PresetOpt = None, as_json: JsonOpt = False) -> None:
    """Write a commented profile to start from, where `up` finds it ($XDG_CONFIG_HOME/vmrun/profiles); never overwrites.

    It loads as written: user networking with ssh forwarded from 127.0.0.1:2222, and a disk,
    an ISO and a kernel commented out, for you to choose from.

    With --image N: its first disk is an overlay on the cached cloud image N, a cloud-init seed gives
    your ~/.ssh public key to the image's default user, and a free loopback port forwards to 22.

    With --preset windows|linux: a whole desktop VM (q35, UEFI, tablet, sound; windows adds Secure
    Boot, a TPM 2.0, a SATA disk, an e1000e NIC and a second CD-ROM for virtio-win; linux a virtiofs
    share), with the installer ISO to fill in.

    \b
    Example: vmrun new web   (then: vmrun edit web, vmrun doctor web, vmrun up web)
    Example: vmrun new web --image debian-12   (then: vmrun up web, vmrun ssh web)
    Example: vmrun new win11 --preset windows   (then: vmrun edit win11 for the ISOs, vmrun up win11)
    """
    if preset is not None and preset not in PRESETS:
        raise UsageError(f"no preset {preset!r}", option=f"--preset {preset}", hint=f"use {' or '.join(PRESETS)}")
    if preset is not None and image is not None:
        raise UsageError("--preset and --image exclude each other", option="--preset")
    if image is not None:
        return _new_from_image(name, image, as_json)
    from vmrun import profiles

    path = profiles.new(name, preset=preset)
    print(
        json.dumps({"name": name, "file": str(path)})
        if as_json
        else f"wrote {path} (change it with: vmrun edit {name})"
    )


def _new_from_image(name: str, image: str, as_json: bool) -> None:
    from vmrun import imagenew

    made = imagenew.new(name, image)
    for line in made.notices:
        ui.notice(line)
    if as_json:
        shown = {"name": name, "file": str(made.path), "image": image, "disk": str(made.disk), "ssh_port": made.port}
        print(json.dumps({**shown, "user": made.user, "key": str(made.key_file) if made.key_file else None}))
    else:
        print(
            f"wrote {made.path} (disk {made.disk} on {image}, ssh on 127.0.0.1:{made.port}; start it: vmrun up {name})"
        )


@command(name="help")
def help_(
    topic: Annotated[Optional[str], typer.Argument(metavar="[TOPIC]", help="profile: every profile key.")] = None,
    *,
    as_json: JsonOpt = False,
) -> None:
    """Reference pages: `vmrun help profile` lists every profile key with its type, default and meaning.

    Generated from the profile loader itself, so it says what this vmrun reads. Example: vmrun help profile
    """
    from vmrun.errors import UsageError

    if topic is None and not as_json:
        print(
            "vmrun help profile    every profile key: type, default, meaning\n"
            "vmrun COMMAND --help  a command's options, with an example\n"
            "vmrun --help          the commands"
        )
        return
    if topic != "profile":
        raise UsageError(
            f"no help topic {topic!r}" if topic else "say which topic: vmrun help profile",
            hint="topics: profile; each command has its own: vmrun COMMAND --help",
        )
    from vmrun.profile import reference

    found = reference.keys()
    print(
        json.dumps([k.as_json() for k in found], indent=2) if as_json else reference.render(found),
        end="" if not as_json else "\n",
    )


@command(name="profiles")
def profiles_(*, as_json: JsonOpt = False) -> None:
    """The profiles `up` can find (in the order it looks), each with its file and whether its VM runs.

    Running or not is read from the run folder (no QMP). Example: vmrun profiles --json
    """
    from vmrun import profiles

    found = profiles.listing()
    if as_json:
        print(json.dumps([f.as_json() for f in found], indent=2))
    elif not found:
        from vmrun.profile.paths import search_path

        print(f"no profiles in {', '.join(str(d) for d in search_path())} (vmrun new NAME writes one)")
    else:
        rows = [
            [
                f.name,
                f.state if f.pid is None else f"{f.state} (pid {f.pid})",
                f.engine or "-",
                f.file + (f"  (hidden by {f.shadowed_by})" if f.shadowed_by else ""),
                f"invalid: {f.error}" if f.error else "",
            ]
            for f in found
        ]
        print(ui.table(["NAME", "STATE", "ENGINE", "FILE", ""], rows))


@command()
def edit(name: Name) -> None:
    """Edit a profile in $VISUAL or $EDITOR (a copy), then check it: saved only if it loads.

    On an error you are asked to edit again; without a terminal the profile stays as it
    was and the exit status is 2 (the error names your edited copy).

    Example: EDITOR=nano vmrun edit demo
    """
    from vmrun import profiles

    interactive = sys.stdin.isatty() and sys.stderr.isatty()
    done = profiles.edit(name, ask=profiles.ask_tty if interactive else None)
    print(f"saved {done.path}" if done.changed else f"{done.path}: no changes")


@command()
def clone(name: Name, new_name: NewName, *, as_json: JsonOpt = False) -> None:
    """Copy a profile under a new name, beside it, with new MAC addresses; never overwrites.

    Disks are not copied: both profiles then name the same files (said on stderr).

    Example: vmrun clone jrgtest jrgtest2
    """
    from vmrun import profiles

    done = profiles.clone(name, new_name)
    if done.shared_disks:
        ui.notice(
            f"{new_name} uses the same disks as {name}: {', '.join(done.shared_disks)}; do not run both at once "
            "(give it its own, e.g. an overlay: qemu-img create -f qcow2 -b BASE -F qcow2 NEW.qcow2)"
        )
    if done.kept_ports:
        ui.notice(
            f"{new_name} forwards the same host ports as {name} ({', '.join(done.kept_ports)}): change them to run both"
        )
    if as_json:
        print(
            json.dumps({"name": new_name, "file": str(done.path), "macs": done.macs, "shared_disks": done.shared_disks})
        )
    else:
        macs = ", ".join(f"{nic} {mac}" for nic, mac in done.macs.items())
        print(f"wrote {done.path}" + (f" (new MACs: {macs})" if macs else ""))
