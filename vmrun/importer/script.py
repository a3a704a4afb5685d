"""A start.sh read as a whole: its QEMU command, what it does around it, what is commented out."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from vmrun.errors import ScriptError
from vmrun.importer.alternatives import Alternative, alternatives
from vmrun.importer.commands import (
    KEYWORDS,
    Command,
    commands,
    is_assignments,
    looks_assigned,
    soft_words,
    strip_keywords,
)
from vmrun.importer.expand import Env, Field, NeedsArgument, PassThrough, Unresolved
from vmrun.importer.othercmds import WRAPPERS, is_action, not_run, one_line
from vmrun.importer.qemuoptions import FLAGS
from vmrun.importer.shell import Redirect, Word, lex
from vmrun.importer.sourced import source, unset_message
from vmrun.importer.unknowns import FD_HINT, fd_from_a_file

_QEMU = re.compile(r"^(?:qemu-system-([A-Za-z0-9_]+)|qemu-kvm|kvm)$")
_X86 = {"x86_64", "i386"}
_FD_FROM_FILE = re.compile(r"\bfds?=\$\(cat\s+([^)\s]+)\s*\)")


@dataclass(frozen=True)
class HostCommand:
    """Another command of the script, words as far as they could be worked out (a tap's bridge...)."""

    words: tuple[str, ...]
    line: int


@dataclass
class Script:
    source: str  # as the user named it, for messages
    folder: str  # relative paths in the command are taken from here
    program: Field
    argv: list[Field]
    wrapper: list[str]  # sudo, taskset...: what ran QEMU
    redirects: list[Redirect]
    host_commands: list[HostCommand]
    assigned_raw: dict[str, str]
    alternatives: list[Alternative]
    notes: list[tuple[int, str]] = field(default_factory=list)
    filled: frozenset[str] = frozenset()  # profile keys given with --set (their options left out)

    def where(self, line: int | str | None) -> str:
        return f"{self.source}:{line}" if line else self.source


# The profile key an option's value becomes: what `vmrun import --set KEY=VALUE` fills when the script
# computes the value in a way vmrun import does not run.
OPTION_KEYS = {
    "-m": "memory",
    "-smp": "smp",
    "-cpu": "cpu",
    "-kernel": "kernel",
    "-initrd": "initrd",
    "-append": "append",
    "-cdrom": "cdrom",
    "-vga": "vga",
    "-machine": "machine",
    "-M": "machine",
    "-display": "display",
    "-name": "name",
}


def read_script(
    text: str,
    *,
    source: str,
    folder: str,
    args: list[str] | None = None,
    filled: frozenset[str] = frozenset(),
    given: dict[str, str] | None = None,
) -> Script:
    """``filled``: profile keys given with --set; an option the script computes for them is left out.
    ``given``: shell variables given with --var (what a file the script sources would set)."""
    notes: list[tuple[int, str]] = []
    lexed = lex(_plain_newlines(text, notes), source)
    script_path = source if source == "<stdin>" else os.path.join(folder, os.path.basename(source))
    env = Env(script_path=script_path, folder=folder, args=args, given=dict(given or {}))
    found: tuple[Command, Field, list[Field], list[str]] | None = None
    foreign: tuple[int, str] | None = None
    host: list[HostCommand] = []
    cmds = commands(lexed.tokens)
    for cmd in cmds:
        words = strip_keywords(cmd.words)
        if not words:
            continue
        if _sets_variables(words, env, notes):
            continue
        hit = _find_program(words, env, source)
        if hit is None:
            host.append(_other_command(words, env, notes, after_qemu=found is not None))
            continue
        index, program, arch, first = hit
        if arch not in _X86:
            foreign = foreign or (program.line, program.text)
            continue
        if found:
            notes.append((program.line, "a second QEMU command: only the first one is imported"))
            continue
        _no_dangling_backslash(cmd, lexed.dangling, source)
        # Expanded here, with the variables as they are at this point of the script.
        wrapper = soft_words(cmd.words[:index], env)
        found = (cmd, program, first + _qemu_argv(cmd.words[index + 1 :], env, source, notes, filled), wrapper)
        notes += _dropped_around(cmd, cmds)
    if found is None:
        raise _no_x86_qemu(foreign, source)
    cmd, program, argv, before = found
    notes += env.fixed
    notes += [(c.line, not_run(c.words)) for c in host if is_action(c.words)]
    return Script(
        source=source,
        folder=folder,
        program=program,
        argv=argv,
        wrapper=[w for w in before if w not in KEYWORDS and w != "exec"],
        redirects=cmd.redirects,
        host_commands=host,
        assigned_raw=env.assigned_raw,
        alternatives=alternatives(lexed.comments),
        notes=notes,
        filled=filled,
    )


def _sets_variables(words: list[Word], env: Env, notes: list[tuple[int, str]]) -> bool:
    """Assignments, or ``source FILE``: taken into ``env``."""
    if words[0].raw in ("source", ".") and len(words) > 1:
        source(words, env, notes)
        return True
    if words[0].raw == ":":  # `: "${VM_DISK:=disk.img}"`, the shell's idiom for a default
        env.expand_only(words[1:])
        return True
    return is_assignments(words, env)


def _plain_newlines(text: str, notes: list[tuple[int, str]]) -> str:
    if "\n" in text and text.count("\r\n") == text.count("\n"):
        # Edited on Windows: sh itself would choke on the \r before each continuation's newline.
        notes.append((1, "the script has Windows line ends (CRLF); read as if they were plain newlines"))
        return text.replace("\r\n", "\n")
    return text


def _other_command(words: list[Word], env: Env, notes: list[tuple[int, str]], *, after_qemu: bool) -> HostCommand:
    """A command of the script that is not QEMU; options on a line of their own after QEMU's get a note."""
    soft = soft_words(words, env)
    if after_qemu and soft and soft[0].startswith("-"):
        notes.append(
            (
                words[0].line,
                f"{soft[0]} ...: this line continues no command (a comment or a blank line "
                "ended the QEMU command before it); not imported",
            )
        )
    return HostCommand(tuple(soft), words[0].line)


def _no_dangling_backslash(cmd: Command, dangling: set[int], source: str) -> None:
    """``-m 2G \\ `` + blanks: bash ends the command on that line; what follows is not QEMU's."""
    for word in cmd.words:
        if word.line in dangling and re.search(r"\\[ \t]", word.raw):
            raise ScriptError(
                "the backslash on this line is followed by a blank, not by the line end: it escapes the blank, "
                "so bash ends the QEMU command on this line (handing QEMU a stray argument) and runs the lines "
                "after it as commands of their own",
                source=source,
                line=word.line,
                hint=f"delete the blanks (and anything pasted) after the backslash on line {word.line}, then import again",
            )


def _no_x86_qemu(foreign: tuple[int, str] | None, source: str) -> ScriptError:
    if foreign:
        line, prog = foreign
        arch = _QEMU.match(os.path.basename(prog)).group(1)  # type: ignore[union-attr]
        return ScriptError(
            f"{os.path.basename(prog)} runs {arch} guests; vmrun runs x86 guests (qemu-system-x86_64)",
            source=source,
            line=line,
        )
    return ScriptError("not a QEMU command line: there is no qemu-system-x86_64 command in it", source=source)


def _qemu_argv(
    words: list[Word], env: Env, source: str, notes: list[tuple[int, str]], filled: frozenset[str]
) -> list[Field]:
    argv: list[Field] = []
    env.kept.clear()
    missing: dict[str, str | None] = {}  # variables a file the script sources (not read) may set -> profile key
    for word in words:
        env.missing.clear()
        try:
            fields = env.fields(word)
        except PassThrough:
            _passed_through(word, argv, notes)
            continue
        except Unresolved as e:
            _unresolved(e, word, argv, source, notes, filled)
            continue
        if env.missing:
            key = _option_key(argv)
            if key in filled:
                notes.append((word.line, f"{argv.pop().text} {word.raw}: not imported; {key} is given with --set"))
                continue
            missing.update((name, key) for name in env.missing if name not in missing)
        argv += fields
    if missing:
        what, hint = unset_message(env.unread, list(missing.items()), source)
        raise ScriptError(one_line(what), source=source, line=env.unread[0].line, hint=hint)
    notes += [(line, f"{raw} is kept as written (vmrun expands variables in paths only)") for line, raw in env.kept]
    return argv


def _option_key(argv: list[Field]) -> str | None:
    """The profile key the option before a value fills (-m: memory), if any."""
    option = argv[-1].text if argv else ""
    return OPTION_KEYS.get("-" + option.lstrip("-")) if option.startswith("-") else None


def _passed_through(word: Word, argv: list[Field], notes: list[tuple[int, str]]) -> None:
    option = argv[-1].text if argv else ""
    if option.startswith("-") and "-" + option.lstrip("-") not in FLAGS:
        # -cdrom "$@": without its value the option would take the next one's.
        argv.pop()
        notes.append(
            (
                word.line,
                f"{option} {word.raw}: not imported: its value is the script's own "
                "arguments; give them after --: vmrun import SCRIPT -- ARGS",
            )
        )
        return
    notes.append(
        (
            word.line,
            f"{word.raw} hands the script's own arguments to QEMU; not imported "
            "(give them after --: vmrun import SCRIPT -- ARGS)",
        )
    )


def _unresolved(
    e: Unresolved, word: Word, argv: list[Field], source: str, notes: list[tuple[int, str]], filled: frozenset[str]
) -> None:
    """A value only a running shell knows: left out when --set gives its key, else one line saying how to give it."""
    key = _option_key(argv)
    if key in filled:
        notes.append((word.line, f"{argv.pop().text} {word.raw}: not imported; {key} is given with --set"))
        return
    fd = _FD_FROM_FILE.search(word.raw)
    if fd:
        raise ScriptError(
            one_line(fd_from_a_file(fd.group(0), fd.group(1))),
            source=source,
            line=word.line,
            hint=FD_HINT.format('type = "tap", ifname = "tap0"; or type = "bridge", bridge = "br0"'),
        ) from None
    if isinstance(e, NeedsArgument):
        how = f" (or give {key} itself: --set {key}=VALUE)" if key else ""
    elif key:
        how = f": write its value into the script, or give it: vmrun import {source} --set {key}=VALUE"
    else:
        how = ": write its value into the script instead"
    raise ScriptError(one_line(str(e) + how), source=source, line=word.line) from None


def _dropped_around(cmd: Command, commands: list[Command]) -> list[tuple[int, str]]:
    """What the script does with QEMU's process and output, which vmrun does its own way."""
    notes = []
    if cmd.after is not None and cmd.after.text == "|":
        notes.append(
            (
                cmd.after.line,
                "QEMU's output is piped to another command (| ...): not imported; vmrun "
                "keeps QEMU's output in the run folder: vmrun log NAME --qemu",
            )
        )
    # The & that ends a pipeline puts all of it, QEMU too, in the background.
    last = commands.index(cmd)
    while commands[last].after is not None and commands[last].after.text == "|" and last + 1 < len(commands):
        last += 1
    end = commands[last].after
    if end is not None and end.text == "&":
        notes.append(
            (
                end.line,
                "QEMU is started in the background (&): not imported; vmrun up starts it in the background itself",
            )
        )
    for r in cmd.redirects:
        if r.op in ("<>",) or (r.target is not None and "/dev/tap" in r.target.raw):
            continue  # a tap opened for fd=N: the NIC mapping reads it
        target = r.target.raw if r.target is not None else ""
        notes.append(
            (
                r.line,
                f"the redirection {r.fd}{r.op}{target} is not imported: vmrun keeps QEMU's output "
                "in the run folder (vmrun log NAME --qemu)",
            )
        )
    return notes


def _find_program(words: list[Word], env: Env, source: str) -> tuple[int, Field, str, list[Field]] | None:
    """Where QEMU is in a command (first, or after exec, sudo, taskset...), and for which architecture."""
    if words[0].raw == "eval" and any(_mentions_qemu(w.raw) or w.raw == "kvm" for w in words[1:3]):
        raise ScriptError(
            "eval runs a QEMU command that the shell reads twice (its quotes and $ a second time); "
            "vmrun import reads each command once, as written",
            source=source,
            line=words[0].line,
            hint="write the command out without eval (as eval would see it), then import again",
        )
    for i, word in enumerate(words):
        if looks_assigned(word):
            continue
        try:
            fields = env.fields(word)
        except (Unresolved, PassThrough) as e:
            names = re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", word.raw)
            if any(_mentions_qemu(t) for t in [word.raw, *(env.assigned_raw.get(n, "") for n in names)]):
                raise ScriptError(
                    one_line(f"cannot tell which QEMU runs: {e}"), source=source, line=word.line
                ) from None
            if not i:
                return None
            continue
        m = _QEMU.match(os.path.basename(fields[0].text)) if fields else None
        if m:
            # KVM="qemu-kvm -enable-kvm"; $KVM ...: the variable's other words are QEMU's first options.
            return i, fields[0], m.group(1) or "x86_64", fields[1:]
        if len(fields) != 1:
            if not i:
                return None
            continue
        if os.path.basename(fields[0].text) not in WRAPPERS and not i:
            return None
    return None


def _mentions_qemu(text: str) -> bool:
    return "qemu-system" in text or "qemu-kvm" in text
