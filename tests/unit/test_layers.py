"""The layer order of vmrun (vmrun/__init__.py draws it) holds in the code: every import,
function-local ones included (TYPE_CHECKING blocks aside), goes down or sideways within a
layer, never up; the engines never reach into each other; there is no import cycle; no
module is over 500 lines and no function over 60."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "vmrun"

# Lowest first. A module belongs to the first entry its dotted name starts with.
LAYERS: list[tuple[str, ...]] = [
    (
        "vmrun.errors",
        "vmrun.ui",
        "vmrun.proc",
        "vmrun.names",
        "vmrun.files",
        "vmrun.signals",
        "vmrun.qemuopts",
        "vmrun.adapters",
        "vmrun.trust",
    ),
    ("vmrun.profile",),
    (
        "vmrun.net",
        "vmrun.devices",
        "vmrun.hostnet",
        "vmrun.argv",
        "vmrun.accel",
        "vmrun.cloudinit",
        "vmrun.disks",
        "vmrun.preflight",
        "vmrun.show",
        "vmrun.rundir",
        "vmrun.runstate",
        "vmrun.summary",
        "vmrun.guestwait",
        "vmrun.display",
        "vmrun.datadir",
        "vmrun.images",
        "vmrun.sshkeys",
    ),
    ("vmrun.engines.base", "vmrun.engines.common"),
    ("vmrun.engines.qemu", "vmrun.engines.libvirt"),
    ("vmrun.engines",),
    (
        "vmrun.importer",
        "vmrun.profiles",
        "vmrun.doctor",
        "vmrun.unit",
        "vmrun.ssh",
        "vmrun.complete",
        "vmrun.viewer",
        "vmrun.imageusers",
        "vmrun.imagenew",
    ),
    ("vmrun.cli", "vmrun.__main__"),
]
ENGINES = ("vmrun.engines.qemu", "vmrun.engines.libvirt")


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The vmrun modules ``path`` imports anywhere in its code, but for ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for n in ast.walk(node)
    }
    out = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != "vmrun":  # the package itself holds only __version__ and the drawing
                out.add(name)
    return out


def layer_of(module: str) -> int:
    for i, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return i
    raise AssertionError(f"{module} is in no layer: add it to LAYERS (and to the drawing in vmrun/__init__.py)")


def graph() -> dict[str, set[str]]:
    known = modules()
    return {m: imports(p, known) - {m} for m, p in known.items()}


def test_every_import_goes_down_a_layer_or_stays_in_it():
    wrong = [
        f"{m} (layer {layer_of(m)}) imports {t} (layer {layer_of(t)})"
        for m, targets in graph().items()
        for t in targets
        if layer_of(t) > layer_of(m) and not m.startswith(t + ".")
    ]
    assert wrong == []


def test_the_engines_do_not_reach_into_each_other():
    def engine(m: str) -> str | None:
        return next((e for e in ENGINES if m == e or m.startswith(e + ".")), None)

    crossing = [
        f"{m} imports {t}"
        for m, targets in graph().items()
        for t in targets
        if engine(m) and engine(t) and engine(m) != engine(t)
    ]
    assert crossing == []


def test_no_import_cycles():
    g = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in g:
        if v not in index:
            visit(v)
    assert cycles == []


def test_small_modules_and_functions():
    big = [
        f"{p.relative_to(REPO)}: {n} lines"
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 500
    ]
    long_functions = [
        f"{p.relative_to(REPO)}:{node.lineno} {node.name}: {node.end_lineno - node.lineno + 1} lines"
        for p in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(p.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno + 1 > 60
    ]
    assert big == [] and long_functions == []


def test_only_the_libvirt_adapter_knows_libvirt_errors():
    """One translator from libvirtError to vmrun's errors: vmrun.adapters.libvirt (failing, lookup, quietly)."""
    knowing = [str(p.relative_to(REPO)) for p in PACKAGE.rglob("*.py") if "libvirtError" in p.read_text()]
    assert knowing == ["vmrun/adapters/libvirt.py"]
