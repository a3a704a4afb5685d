"""Profiles: a TOML file in, a frozen, validated :class:`Profile` out."""

from vmrun.profile.load import find_profile, load_profile
from vmrun.profile.model import Accel, Drive, HostFwd, Nic, NicType, Profile, Spice, Vhost, Via

__all__ = [
    "Accel",
    "Drive",
    "HostFwd",
    "Nic",
    "NicType",
    "Profile",
    "Spice",
    "Vhost",
    "Via",
    "find_profile",
    "load_profile",
]
