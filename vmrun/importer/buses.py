"""The ports and bridges a script's NICs plug into (``bus=rp1``): into ``bus_devices``, which vmrun gives first.

Left in extra_args, a ``-device pcie-root-port,id=rp1`` would come after the
NICs in vmrun's argv, and QEMU would find no bus rp1 for them.
"""

from __future__ import annotations

from vmrun.importer.options import Mapper, Opt, parse_opts
from vmrun.profile import fields


def map_buses(m: Mapper) -> None:
    wanted = [_bus_of(nic) for nic in m.profile.get("nics", [])]
    ports = {}
    for opt in m.named("-device"):
        if opt.value is not None:
            bus_id = dict(parse_opts(opt.text, "driver")[1]).get("id")
            if bus_id:
                ports[bus_id] = opt
    taken: list[Opt] = []
    todo = [b for b in wanted if b]
    while todo:  # a port may sit on a bridge the script makes too
        opt = ports.get(todo.pop())
        if opt is None or opt in taken:
            continue
        taken.append(opt)
        todo.append(dict(parse_opts(opt.text, "driver")[1]).get("bus", ""))
    if not taken:
        return
    taken.sort(key=lambda o: o.index)  # in the script's order: a bridge before the ports on it
    values = []
    for opt in taken:
        try:
            values.append(fields.parse_bus_device(opt.text))
        except ValueError as e:
            m.note(opt.line, f"{opt}: not a port vmrun can give ahead of the NICs ({e})")
            return
    for opt in taken:
        m.take(opt, "bus")
    m.set("bus_devices", values)
    names = ", ".join(b for b in dict.fromkeys(wanted) if b)
    m.note(
        taken[0].line,
        f"the NICs plug into {names}, which the script makes: kept in bus_devices, which vmrun gives ahead of the NICs",
    )


def _bus_of(nic: dict) -> str | None:
    options = nic.get("device_options")
    return dict(fields.option_pairs(options)).get("bus") if options else None
