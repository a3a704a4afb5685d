"""`vmrun show`: the command line a profile gives, without starting anything."""

from __future__ import annotations

import shlex
from typing import Any

from vmrun import accel
from vmrun.argv import build_argv
from vmrun.devices import agent, shares, tpm
from vmrun.devices.firmware import PreparedFirmware
from vmrun.net import backend_for
from vmrun.profile.model import Firmware, Nic, Profile


def describe(profile: Profile) -> dict[str, Any]:
    choice = accel.choose(profile.accel)
    netdevs = {nic.id: backend_for(nic, profile.source).describe(nic, profile) for nic in profile.nics}
    seed = _seed(profile)
    firmware = _firmware(profile)
    tpm_socket = tpm.socket_for_show(profile)
    argv = build_argv(
        profile,
        netdevs,
        qemu=profile.qemu,
        accel=choice.accel,
        seed=seed,
        firmware=firmware,
        tpm_socket=tpm_socket,
        share_sockets=shares.sockets_for_show(profile),
        agent_socket=agent.socket_for_show(profile),
        run_dir=_run_dir(profile),
    )
    return {
        "name": profile.name,
        "profile": profile.source,
        "accel": choice.accel.value,
        "argv": argv,
        "nics": [_nic(n) for n in profile.nics],
        "forwards": [{"nic": nic.id, "rule": str(fwd)} for nic, fwd in profile.forwards],
        "cloud_init_seed": seed,
        "nvram": firmware.nvram if firmware else None,
    }


def _nic(n: Nic) -> dict[str, Any]:
    out: dict[str, Any] = {"id": n.id, "type": n.type.value, "model": n.model, "mac": n.mac}
    for key in ("netdev_options", "device_options"):  # what vmrun has no key for, shown so nobody misses it
        if getattr(n, key):
            out[key] = getattr(n, key)
    return out


def _run_dir(profile: Profile) -> str | None:
    """Where `up` will make the run folder: for a [[serials]] unix socket without a path."""
    from vmrun.rundir import RunDir

    return str(RunDir.for_vm(profile.name).path) if profile.serials else None


def _seed(profile: Profile) -> str | None:
    """Where `up` will make the cloud-init seed: in the VM's run folder."""
    if profile.cloud_init is None:
        return None
    from vmrun.cloudinit import seed_path
    from vmrun.rundir import RunDir

    return str(seed_path(RunDir.for_vm(profile.name).path))


def _firmware(profile: Profile) -> PreparedFirmware | None:
    """The UEFI firmware `up` would choose, and where the VM's NVRAM is (or will be): its data folder."""
    if profile.firmware is not Firmware.UEFI:
        return None
    from vmrun import datadir
    from vmrun.devices import descriptors
    from vmrun.devices.firmware import NVRAM_FILE

    return PreparedFirmware(descriptors.choose(profile), str(datadir.for_vm(profile.name, create=False) / NVRAM_FILE))


def option_lines(argv: list[str]) -> list[list[str]]:
    """Group an argv into lines: the program, then each option with its value."""
    lines = [[argv[0]]]
    i = 1
    while i < len(argv):
        if argv[i].startswith("-") and i + 1 < len(argv) and not argv[i + 1].startswith("-"):
            lines.append(argv[i : i + 2])
            i += 2
        else:
            lines.append([argv[i]])
            i += 1
    return lines


def render_script(argv: list[str], *, source: str) -> str:
    lines = [" ".join(shlex.quote(a) for a in line) for line in option_lines(argv)]
    body = " \\\n    ".join(lines)
    return f"#!/bin/sh\n# QEMU command of {source}, as printed by `vmrun show`\nexec {body}\n"
