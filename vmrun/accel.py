"""Which accelerator a guest really gets: KVM only where a stock guest kernel can run on it."""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

from vmrun.profile.model import Accel

_KVM_GET_API_VERSION = 0xAE00


@dataclass(frozen=True)
class AccelChoice:
    accel: Accel  # KVM or TCG, never AUTO
    notice: str | None = None


def kvm_problem() -> str | None:
    """Why KVM cannot run a stock guest here, or None when it can.

    The mere existence of /dev/kvm proves little: a PVM host (kvm_pvm) opens it
    and even runs real-mode code, yet an ordinary kernel hangs at boot. We want
    the hardware-assisted modules, kvm_intel or kvm_amd.
    """
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return f"/dev/kvm: {e.strerror}"
    try:
        if fcntl.ioctl(fd, _KVM_GET_API_VERSION) != 12:
            return "/dev/kvm speaks an unknown KVM API"
    except OSError as e:
        return f"/dev/kvm: {e.strerror}"
    finally:
        os.close(fd)
    modules = Path("/sys/module")
    if (modules / "kvm_intel").exists() or (modules / "kvm_amd").exists():
        return None
    if (modules / "kvm_pvm").exists():
        return "this host's KVM is PVM (kvm_pvm), which boots only PVM-aware guest kernels"
    return "neither kvm_intel nor kvm_amd is loaded"


def choose(wanted: Accel) -> AccelChoice:
    if wanted is not Accel.AUTO:
        return AccelChoice(wanted)
    problem = kvm_problem()
    if problem is None:
        return AccelChoice(Accel.KVM)
    return AccelChoice(Accel.TCG, notice=f"using TCG (software emulation, slow): {problem}")
