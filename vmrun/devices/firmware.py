"""UEFI firmware on QEMU's command line: a pure function of the firmware files chosen (descriptors.py) and the VM's NVRAM.

The code is a read-only pflash; the variables are the VM's own copy of the descriptor's
template, kept as qcow2 so that `vmrun snapshot` (savevm, which wants every writable drive
to hold snapshots) keeps working. Firmware built to require SMM (Secure Boot's) needs the
machine's SMM and a pflash only SMM code may write: without them it stops before the guest.
"""

from __future__ import annotations

from dataclasses import dataclass

from vmrun.qemuopts import opts

SECURE_BOOT = "secure-boot"
ENROLLED_KEYS = "enrolled-keys"
REQUIRES_SMM = "requires-smm"
NVRAM_FORMAT = "qcow2"
NVRAM_FILE = "nvram.qcow2"  # in the VM's data folder (vmrun.datadir)


@dataclass(frozen=True)
class FirmwareFiles:
    """One firmware a descriptor offers: its code, its variable-store template, its features."""

    descriptor: str  # the JSON file it was read from
    code: str
    code_format: str
    template: str
    template_format: str
    features: frozenset[str]

    @property
    def requires_smm(self) -> bool:
        return REQUIRES_SMM in self.features


@dataclass(frozen=True)
class PreparedFirmware:
    """What `up` prepared: the firmware chosen, and the VM's own NVRAM (qcow2) it boots with."""

    files: FirmwareFiles
    nvram: str


def machine_options(fw: PreparedFirmware | None) -> list[tuple[str, str]]:
    """What the firmware adds to -machine."""
    return [("smm", "on")] if fw is not None and fw.files.requires_smm else []


def firmware_args(fw: PreparedFirmware | None) -> list[str]:
    if fw is None:
        return []
    argv: list[str] = []
    if fw.files.requires_smm:
        argv += ["-global", "driver=cfi.pflash01,property=secure,value=on"]
    code = [("if", "pflash"), ("unit", 0), ("format", fw.files.code_format), ("readonly", True)]
    argv += ["-drive", opts(None, [*code, ("file", fw.files.code)])]
    nvram = [("if", "pflash"), ("unit", 1), ("format", NVRAM_FORMAT), ("file", fw.nvram)]
    return argv + ["-drive", opts(None, nvram)]
