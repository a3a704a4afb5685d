"""Find a profile by name, read its TOML, apply overrides and validate it field by field.

Every error names the file and the dotted field (``nics[1].mac``), so a user
can go straight to the line; an error in a command-line override names the
option as typed (``--memory lots``) instead.
"""

from __future__ import annotations

import enum
import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from vmrun.errors import ProfileError
from vmrun.profile import cloud_init, fields
from vmrun.profile.model import Accel, CloudInit, Drive, Engine, MacvtapMode, Nic, NicType, Profile, Spice, Vhost, Via
from vmrun.profile.model import NetKind, Network

E = TypeVar("E", bound=enum.Enum)


def search_path() -> list[Path]:
    """Where ``NAME`` is looked for: ./profiles, $XDG_CONFIG_HOME/vmrun/profiles, $VMRUN_PROFILE_PATH."""
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    dirs = [Path("profiles"), config / "vmrun" / "profiles"]
    dirs += [Path(p) for p in os.environ.get("VMRUN_PROFILE_PATH", "").split(os.pathsep) if p]
    return dirs


def home_folder() -> Path:
    """Where `new` and `import` write: the user's own folder on the path, found wherever vmrun runs from."""
    return search_path()[1]


def find_profile(name_or_path: str) -> Path:
    """The profile file for a name (the first on the search path that you can trust) or a path.

    A profile someone else could have written is never used (see vmrun.trust): as a path it is
    refused; found by name, it is passed over with a notice, so a file planted in ./profiles of a
    shared folder neither runs nor hides your own profile of that name.
    """
    from vmrun import trust

    path = Path(name_or_path)
    if path.suffix == ".toml" or os.sep in name_or_path:
        if not path.is_file():
            raise ProfileError("no such profile file", source=name_or_path)
        trust.check(path)
        return path
    passed_over: list[Path] = []
    for folder in search_path():
        candidate = folder / f"{name_or_path}.toml"
        if not candidate.is_file():
            continue
        if trust.problem(candidate) is None:
            _say_passed_over(passed_over, candidate)
            return candidate
        passed_over.append(candidate)
    if passed_over:
        trust.check(passed_over[0])
    looked = ", ".join(str(d) for d in search_path())
    raise ProfileError(
        f"no profile named {name_or_path!r}",
        hint=f"looked in {looked}; give a path or set VMRUN_PROFILE_PATH",
    )


def _say_passed_over(passed_over: list[Path], used: Path) -> None:
    from vmrun import trust, ui

    for path in passed_over:
        place, reason = trust.problem(path) or (str(path), "?")
        subject = "it" if place == os.path.abspath(path) else place
        ui.notice(f"{path} passed over, not trusted ({subject} is {reason}); using {used}")


class Override(NamedTuple):
    """A value set from the command line; ``label`` is how it was typed (``--memory 16G``).

    An error in a labelled override names the label, not the file; a bare (key, value) pair is
    blamed on the file like the profile's own keys.
    """

    key: str
    value: Any
    label: str | None = None


def load_profile(
    name_or_path: str, *, overrides: Sequence[Override | tuple[str, Any]] = (), source: Path | None = None
) -> Profile:
    """Read and validate a profile; ``overrides`` are applied first."""
    from vmrun import trust

    path = source or find_profile(name_or_path)
    try:
        raw = tomllib.loads(trust.read_profile(path))
    except tomllib.TOMLDecodeError as e:
        raise ProfileError(f"not valid TOML: {e}", source=str(path)) from None
    given = [Override(*o) for o in overrides]
    for override in given:
        apply_override(raw, override, str(path))
    try:
        return parse_profile(raw, str(path), default_name=path.stem)
    except ProfileError as e:
        culprit = _override_of(e.field, given)
        if culprit is None:
            raise
        raise _blame(culprit, str(path), e.reason, e.hint) from None


def parse_override(text: str) -> Override:
    """``key=value`` from ``--set``; the value is read as TOML if it can be, else as a string."""
    key, sep, value = text.partition("=")
    label = f"--set {text}"
    if not sep or not key.strip():
        raise ProfileError("write key=value, e.g. --set spice.port=8001", field=fields.visible(label))
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    return Override(key.strip(), parsed, label)


def _dotted(field: str) -> list[str]:
    """``nics[1].bridge`` and ``nics.1.bridge`` alike, as parts."""
    return field.replace("[", ".").replace("]", "").split(".")


def _override_of(field: str | None, overrides: Sequence[Override]) -> Override | None:
    """The labelled override that set ``field`` or a table or list holding it; the last one wins, as in apply."""
    if field is None:
        return None
    parts = _dotted(field)
    for override in reversed(overrides):
        key = _dotted(override.key)
        if override.label and parts[: len(key)] == key:
            return override
    return None


def _blame(override: Override, source: str, message: str, hint: str | None = None) -> ProfileError:
    """An error in an override: on its label as typed, or on the file when it has none."""
    if override.label:
        return ProfileError(message, field=fields.visible(override.label), hint=hint)
    return ProfileError(message, source=source, field=f"--set {fields.visible(override.key)}", hint=hint)


def apply_override(raw: dict[str, Any], override: Override, source: str) -> None:
    """Set a scalar at a dotted path (``memory``, ``spice.port``, ``nics.1.bridge``)."""
    parts = _dotted(override.key)
    node: Any = raw
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        where = fields.visible(".".join(parts[: i + 1]))
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise _blame(override, source, f"no item {part!r} in {where.rsplit('.', 1)[0]}")
            part = int(part)
        elif not isinstance(node, dict):
            raise _blame(override, source, f"{where} is not a table")
        if last:
            if isinstance(node[part] if isinstance(node, list) else node.get(part), (dict, list)):
                raise _blame(override, source, "only scalars can be set")
            node[part] = override.value
        else:
            if isinstance(node, dict):
                if part not in node and parts[i + 1].isdigit():
                    raise _blame(override, source, f"there is no {where}[{parts[i + 1]}] to set")
                node = node.setdefault(part, {})
            else:
                node = node[part]


class Table:
    """Typed access to one TOML table that remembers which keys were used."""

    def __init__(self, data: Mapping[str, Any], source: str | None, path: str) -> None:
        self.data, self.source, self.path = data, source, path
        self.used: set[str] = set()

    def field(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, message: str, hint: str | None = None) -> ProfileError:
        return ProfileError(message, source=self.source, field=fields.visible(self.field(key)), hint=hint)

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = None, *, required: bool = False) -> Any:
        self.used.add(key)
        if key not in self.data:
            if required:
                raise self.error(key, "is required")
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            raise self.error(key, f"expected {_kind_name(kinds)}, got {value!r}")
        if not isinstance(value, kinds):
            raise self.error(key, f"expected {_kind_name(kinds)}, got {value!r}")
        if isinstance(value, str):
            self._printable(key, value)
        return value

    def _printable(self, key: str, value: str) -> None:
        """Every string of a profile passes here, whatever field it becomes."""
        try:
            fields.check_printable(value)
        except ValueError as e:
            raise self.error(key, str(e)) from None

    def parsed(self, key: str, parser: Any, kind: type | tuple[type, ...] = str, default: Any = None) -> Any:
        value = self.get(key, kind)
        if value is None:
            return default
        try:
            return parser(value)
        except ValueError as e:
            raise self.error(key, str(e)) from None

    def choice(self, key: str, enum_type: type[E], default: E) -> E:
        value = self.get(key, str)
        if value is None:
            return default
        try:
            return enum_type(value)
        except ValueError:
            allowed = " | ".join(m.value for m in enum_type)
            raise self.error(key, f"{value!r} is not one of {allowed}") from None

    def positive(
        self, key: str, default: int | None = None, *, low: int = 1, high: int = 65535, required: bool = False
    ) -> int | None:
        value = self.get(key, int, required=required)
        if value is None:
            return default
        if not low <= value <= high:
            raise self.error(key, f"{value} is out of range {low}-{high}")
        return value

    def strings(self, key: str) -> list[str]:
        value = self.get(key, list, [])
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise self.error(f"{key}[{i}]", f"expected a string, got {item!r}")
            self._printable(f"{key}[{i}]", item)
        return value

    def tables(self, key: str) -> Iterable[Table]:
        value = self.get(key, list, [])
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.error(f"{key}[{i}]", f"expected a table ([[{key}]]), got {item!r}")
            yield Table(item, self.source, self.field(f"{key}[{i}]"))

    def subtable(self, key: str) -> Table | None:
        value = self.get(key, dict)
        return None if value is None else Table(value, self.source, self.field(key))

    def require_one(self, *keys: str, what: str, hint: str | None = None) -> None:
        """At least one of ``keys`` is given; else ``what`` is the error, on the first key."""
        if not any(self.data.get(k) is not None for k in keys):
            raise self.error(keys[0], what, hint=hint)

    def reject_unknown(self, allowed: Iterable[str] | None = None) -> None:
        known = self.used if allowed is None else set(allowed)
        for key in self.data:
            if key not in known:
                raise self.error(key, "unknown key", hint=_did_you_mean(key, known))


def _kind_name(kinds: tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", bool: "true or false", list: "a list", dict: "a table", float: "a number"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _did_you_mean(key: str, known: Iterable[str]) -> str | None:
    import difflib

    close = difflib.get_close_matches(key, sorted(known), n=1)
    return f"did you mean {close[0]!r}?" if close else None


# Which keys each NIC type accepts besides the common ones.
_COMMON_NIC_KEYS = {"id", "type", "mac", "model", "addr"}
_NIC_KEYS = {
    NicType.USER: {"hostfwd", "net", "restrict"},
    NicType.BRIDGE: {"bridge", "via", "helper", "vhost", "queues"},
    NicType.MACVTAP: {"parent", "mode", "vhost", "queues"},
    NicType.OVS: {"bridge", "vlan", "vhost", "queues"},
    NicType.NETWORK: {"network", "uri", "via", "helper", "vhost", "queues"},
    NicType.PASST: {"hostfwd"},
    NicType.TAP: {"ifname", "script", "downscript", "vhost", "queues"},
    NicType.NETDEV: {"backend", "options"},
}
_REQUIRED_NIC_KEYS = {NicType.BRIDGE: "bridge", NicType.MACVTAP: "parent", NicType.OVS: "bridge", NicType.NETWORK: "network",
                      NicType.NETDEV: "backend"}


def parse_nic(t: Table, vm_name: str, index: int) -> Nic:
    nic_type = t.choice("type", NicType, NicType.USER)
    nic_id = t.parsed("id", fields.parse_id, default=f"net{index}")
    mac = t.parsed("mac", fields.parse_mac, default=None) or fields.stable_mac(vm_name, nic_id)
    required = _REQUIRED_NIC_KEYS.get(nic_type)
    if required:
        t.get(required, str, required=True)
    nic = Nic(
        id=nic_id,
        type=nic_type,
        mac=mac,
        model=t.parsed("model", fields.parse_word, default="virtio-net-pci"),
        hostfwd=tuple(_parse_list(t, "hostfwd", fields.parse_hostfwd)),
        net=t.get("net", str),
        restrict=t.get("restrict", bool, False),
        bridge=t.get("bridge", str),
        via=t.choice("via", Via, Via.AUTO),
        helper=t.get("helper", str),
        vhost=t.choice("vhost", Vhost, Vhost.AUTO),
        queues=t.positive("queues", None, high=64),
        parent=t.get("parent", str),
        mode=t.choice("mode", MacvtapMode, MacvtapMode.BRIDGE),
        vlan=t.positive("vlan", None, high=4094),
        network=t.get("network", str),
        uri=t.get("uri", str, "qemu:///system"),
        addr=t.parsed("addr", fields.parse_pci_addr),
        ifname=t.parsed("ifname", fields.parse_ifname),
        script=t.get("script", str),
        downscript=t.get("downscript", str),
        backend=t.parsed("backend", fields.parse_netdev_backend),
        options=t.parsed("options", fields.parse_netdev_options),
    )
    if nic_type is NicType.TAP:
        t.require_one("ifname", "script", what="a tap NIC names the tap (ifname) or the script QEMU gives the tap "
                      "it makes", hint='ifname = "tap0" for a tap that exists; script = "/etc/qemu-ifup" for one '
                      "QEMU makes")  # fmt: skip
    allowed = _COMMON_NIC_KEYS | _NIC_KEYS[nic_type]
    for key in t.data:
        if key not in allowed and key in t.used:
            raise t.error(key, f"does not apply to a NIC of type {nic_type.value!r}")
    t.reject_unknown(allowed)
    return nic


def parse_cli_nic(raw: Mapping[str, Any], vm_name: str, index: int) -> Nic:
    """A NIC given to `vmrun nic add`, checked as a [[nics]] table is; errors name the option typed (``--vlan 5000``)."""
    try:
        return parse_nic(Table(raw, None, ""), vm_name, index)
    except ProfileError as e:
        key = e.field or ""
        name, _, item = key.partition("[")
        value = raw.get(name)
        if item and isinstance(value, list):
            value = value[int(item.rstrip("]"))]
        option = option_for_nic_key(str(raw.get("type", NicType.USER)), key)
        typed = option if value is None or isinstance(value, (list, dict)) else f"{option} {value}"
        raise ProfileError(e.reason, field=fields.visible(typed), hint=e.hint) from None


def option_for_nic_key(nic_type: str, key: str) -> str:
    """The `vmrun nic add` option that gives a NIC key (``bridge``, ``hostfwd[0]``, ``nics[2].vlan``)."""
    name = key.rsplit(".", 1)[-1].partition("[")[0]
    if name == "bridge":
        return "--ovs" if nic_type == NicType.OVS else "--bridge"
    return "--macvtap" if name == "parent" else f"--{name}"


def _parse_list(t: Table, key: str, parser: Any) -> list[Any]:
    out = []
    for i, item in enumerate(t.strings(key)):
        try:
            out.append(parser(item))
        except ValueError as e:
            raise t.error(f"{key}[{i}]", str(e)) from None
    return out


def parse_spice(t: Table) -> Spice:
    spice = Spice(
        port=t.positive("port", required=True),
        addr=t.get("addr", str, "127.0.0.1"),
        ticketing=t.get("ticketing", bool, True),
        password=t.get("password", str),
        vdagent=t.get("vdagent", bool, False),
    )
    t.reject_unknown()
    return spice


def parse_drive(t: Table, path: Any) -> Drive:
    t.get("file", str, required=True)
    size = t.parsed("size", fields.parse_disk_size, (str, int))
    backing = t.parsed("backing", path)
    fmt = t.parsed("format", fields.parse_word)
    if backing is not None and fmt not in (None, "qcow2"):
        raise t.error("format", f"{fmt!r} cannot have a backing file: an overlay is qcow2",
                      hint='write format = "qcow2" or leave it out')  # fmt: skip
    if (size is not None or backing is not None) and fmt is None:
        fmt = "qcow2"  # what vmrun makes it as, so QEMU need not probe it
    drive = Drive(
        file=t.parsed("file", path),
        interface=t.parsed("interface", fields.parse_word, default="virtio"),
        format=fmt,
        aio=t.parsed("aio", fields.parse_word),
        cache=t.parsed("cache", fields.parse_word),
        readonly=t.get("readonly", bool, False),
        snapshot=t.get("snapshot", bool, False),
        addr=t.parsed("addr", fields.parse_pci_addr),
        size=size,
        backing=backing,
    )
    if drive.addr is not None and drive.interface != "virtio":
        raise t.error("addr", f"a PCI slot is for an interface = \"virtio\" disk, not {drive.interface!r}")
    if drive.readonly and drive.made_by_vmrun:
        raise t.error("readonly", "a read-only drive cannot be made empty by vmrun (it has size or backing)")
    t.reject_unknown()
    return drive


def parse_network(t: Table) -> Network:
    """One ``[[networks]]`` table: the fields of `vmrun net create`, checked and completed by profile.network."""
    from vmrun.profile import network as spec

    kind = t.choice("kind", NetKind, NetKind.NAT)
    t.get("name", str, required=True)
    network = Network(
        name=t.get("name", str),
        kind=kind,
        subnet=t.parsed("subnet", fields.parse_subnet),
        bridge=t.get("bridge", str),
        dhcp_range=t.parsed("dhcp_range", fields.parse_range),
        autostart=t.get("autostart", bool, True),
        uri=t.get("uri", str, "qemu:///system"),
        uplink=t.get("uplink", str),
    )
    allowed = {"name", "kind"} | spec.KEYS[kind]
    for key in t.data:
        if key not in allowed and key in t.used:
            raise t.error(key, f"does not apply to a network of kind {kind.value!r}")
    t.reject_unknown(allowed)
    try:
        return spec.complete(network)
    except spec.SpecError as e:
        raise t.error(e.key, str(e)) from None


def _networks(t: Table) -> tuple[Network, ...]:
    networks = tuple(parse_network(n) for n in t.tables("networks"))
    for i, net in enumerate(networks):
        if net.name in [n.name for n in networks[:i]]:
            raise t.error(f"networks[{i}].name", f"{net.name!r} is already the name of another network")
    return networks


def parse_profile(raw: Mapping[str, Any], source: str, *, default_name: str) -> Profile:
    t = Table(raw, source, "")
    base = os.path.dirname(os.path.abspath(source))

    def path(value: str) -> str:
        return fields.expand_path(value, base)

    name = t.parsed("name", fields.parse_name, default=default_name)
    nics = tuple(parse_nic(n, name, i) for i, n in enumerate(t.tables("nics")))
    _check_unique(t, nics)
    spice_table = t.subtable("spice")
    profile = Profile(
        name=name,
        source=source,
        qemu=t.get("qemu", str, "qemu-system-x86_64"),
        process=t.get("process", str),
        debug_threads=t.get("debug_threads", bool, False),
        accel=t.choice("accel", Accel, Accel.AUTO),
        machine=t.parsed("machine", fields.parse_qemu_opts),
        hotplug_slots=t.positive("hotplug_slots", 4, low=0, high=32),
        memory_mib=t.parsed("memory", fields.parse_memory, (str, int), default=1024),
        smp=t.positive("smp", 1, high=4096),
        cpu=t.parsed("cpu", fields.parse_cpu),
        vga=t.parsed("vga", fields.parse_word),
        display=t.parsed("display", fields.parse_qemu_opts, default="none"),
        kernel=t.parsed("kernel", path),
        initrd=t.parsed("initrd", path),
        append=t.get("append", str),
        cdrom=t.parsed("cdrom", path),
        spice=parse_spice(spice_table) if spice_table else None,
        drives=tuple(parse_drive(d, path) for d in t.tables("drives")),
        nics=nics,
        networks=_networks(t),
        extra_args=tuple(t.strings("extra_args")),
        engine=t.choice("engine", Engine, Engine.QEMU),
        connect=t.get("connect", str),
        cloud_init=_cloud_init(t, name),
    )
    t.reject_unknown()
    return profile


def _cloud_init(t: Table, vm_name: str) -> CloudInit | None:
    table = t.subtable("cloud_init")
    return None if table is None else parse_cloud_init(table, vm_name)


def parse_cloud_init(t: Table, vm_name: str) -> CloudInit:
    """The ``[cloud_init]`` table; every error names the file and the field."""
    user_data = _user_data(t)
    keys = tuple(_parse_list(t, "ssh_authorized_keys", cloud_init.parse_key))
    cloud = CloudInit(
        hostname=t.parsed("hostname", cloud_init.parse_hostname, default=cloud_init.default_hostname(vm_name)),
        user=t.parsed("user", cloud_init.parse_user),
        ssh_authorized_keys=keys,
        user_data=user_data,
    )
    if user_data is not None:
        for key in ("user", "ssh_authorized_keys"):
            if key in t.data:
                raise t.error(key, "user_data replaces the generated user-data, so this would be ignored",
                              hint="write it into user_data, or drop user_data to have vmrun generate it")  # fmt: skip
    if cloud.user and not keys:
        raise t.error("user", "has no ssh_authorized_keys: nobody could log in as it (its password is locked)")
    t.reject_unknown()
    return cloud


def _user_data(t: Table) -> str | None:
    """Raw user data: several lines, so not through Table.get's one-line check."""
    t.used.add("user_data")
    value = t.data.get("user_data")
    if value is None:
        return None
    if not isinstance(value, str):
        raise t.error("user_data", f"expected a string (a multi-line '''...''' string), got {value!r:.40}")
    try:
        return cloud_init.parse_user_data(value)
    except ValueError as e:
        raise t.error("user_data", str(e)) from None


def _check_unique(t: Table, nics: Sequence[Nic]) -> None:
    seen_ids: dict[str, int] = {}
    seen_macs: dict[str, int] = {}
    seen_ports: dict[tuple[str, int], str] = {}
    for i, nic in enumerate(nics):
        if nic.id in seen_ids:
            raise t.error(f"nics[{i}].id", f"{nic.id!r} is already the id of nics[{seen_ids[nic.id]}]")
        if nic.mac in seen_macs:
            raise t.error(f"nics[{i}].mac", f"{nic.mac} is already the MAC of nics[{seen_macs[nic.mac]}]")
        seen_ids[nic.id] = seen_macs[nic.mac] = i
        for j, fwd in enumerate(nic.hostfwd):
            key = (fwd.proto, fwd.host_port)
            if key in seen_ports:
                raise t.error(f"nics[{i}].hostfwd[{j}]", f"host port {fwd.proto}/{fwd.host_port} is already forwarded by {seen_ports[key]}")
            seen_ports[key] = f"nics[{i}].hostfwd[{j}]"
