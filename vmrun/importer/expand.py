"""Words into argv strings: the script's own variables, ``${N:-default}`` at its default.

Each resulting :class:`Field` remembers which script parameters it came from,
so the importer can say "memory = 8G is the default of ``${1:-8}``".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from vmrun.importer.shell import MAX_NESTING, Lit, Run, Segment, Var, Word
from vmrun.importer.sourced import ENVIRONMENT, Unread
from vmrun.importer.unknowns import NeedsArgument, PassThrough, Unresolved

_SPLIT = "\x00"  # between the words of a quoted "$@": each becomes its own argv string
_ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\+?=")


@dataclass(frozen=True)
class Param:
    """A value the script takes from its caller, here at its default."""

    name: str  # "1", or "MEM" for ${MEM:-8G} from the environment
    raw: str  # ${1:-8}
    default: str

    @property
    def spelled(self) -> str:
        return f"${self.name}" if self.name.isdigit() else f"${{{self.name}}}"


@dataclass(frozen=True)
class Field:
    text: str
    line: int
    params: tuple[Param, ...] = ()


@dataclass(frozen=True)
class Value:
    text: str
    params: tuple[Param, ...] = ()
    problem: str | None = None  # set when the assignment itself could not be worked out


@dataclass
class Env:
    script_path: str
    folder: str = "."  # the script's folder: relative paths and $(pwd) are taken from here
    args: list[str] | None = None  # what the script is run with (`vmrun import S -- ARGS`); None: not given
    fixed: list[tuple[int, str]] = field(default_factory=list)  # notes on values worked out at import
    variables: dict[str, Value] = field(default_factory=dict)
    assigned_raw: dict[str, str] = field(default_factory=dict)
    kept: list[tuple[int, str]] = field(default_factory=list)  # $HOME-like names left as written
    depth: int = 0  # ${...} and $(...) being worked out, each within the one before
    given: dict[str, str] = field(default_factory=dict)  # `vmrun import --var NAME=VALUE`
    unread: list[Unread] = field(default_factory=list)  # `source FILE`s not read (outside the folder...)
    missing: dict[str, int] = field(default_factory=dict)  # variables such a FILE may have set: name -> line

    def __post_init__(self) -> None:
        self.give()

    def give(self) -> None:
        """The --var values, as if the environment (or a file the script sources) had set them."""
        for name, value in self.given.items():
            self.variables[name] = Value(value)

    def assign(self, word: Word) -> bool:
        """Record ``NAME=value``; False when the word is not an assignment."""
        first = word.segments[0] if word.segments else None
        if not isinstance(first, Lit) or first.quoted:
            return False
        m = _ASSIGNMENT.match(first.text)
        if not m:
            return False
        rest = (Lit(first.text[m.end() :], False), *word.segments[1:])
        name = m.group(1)
        try:
            text, params = self._join(rest, word.line)
            value = Value(text, params)
        except (Unresolved, PassThrough) as e:
            value = Value("", (), str(e) or f"${name} needs the script's arguments")
        if "+=" in first.text[: m.end()] and name in self.variables:
            old = self.variables[name]
            value = Value(old.text + value.text, old.params + value.params, old.problem or value.problem)
        self.variables[name] = value
        self.assigned_raw[name] = word.raw
        return True

    def fields(self, word: Word) -> list[Field]:
        """The argv strings a word becomes (none, one, or several when an unquoted $VAR splits)."""
        if self._unset_word(word):
            return []
        out: list[Field] = []
        buf: list[str] = []
        params: list[Param] = []
        started = False

        def end_field() -> None:
            nonlocal started
            if started:
                out.append(Field("".join(buf), word.line, tuple(params)))
            buf.clear()
            params.clear()
            started = False

        for seg in word.segments:
            if isinstance(seg, Lit):
                buf.append(seg.text)
                started = started or seg.quoted or seg.text != ""
                continue
            text, from_params = self._segment(seg, word.line)
            params.extend(from_params)
            if seg.quoted:
                for k, piece in enumerate(text.split(_SPLIT)):
                    if k > 0:
                        end_field()
                        params.extend(from_params)
                    buf.append(piece)
                    started = True
                continue
            pieces = re.split(r"[ \t\n]+", text)
            for k, piece in enumerate(pieces):
                if k > 0:
                    end_field()
                    params.extend(from_params)
                if piece:
                    buf.append(piece)
                    started = True
        end_field()
        return out

    def _unset_word(self, word: Word) -> bool:
        """``$OPTS`` alone, unquoted, never set by the script: the shell drops the word (when it is unset)."""
        if len(word.segments) != 1 or not isinstance(var := word.segments[0], Var) or var.quoted or var.op:
            return False
        name = var.name
        if not (name[0].isalpha() or name[0] == "_") or name in self.variables or name in ENVIRONMENT:
            return False
        if self.unread:
            return False  # a file the script sources and vmrun did not read may set it: said as such
        note = (
            word.line,
            f"{var.raw} is set nowhere in the script: left out, as the shell leaves out an unset variable "
            f"(if your environment sets it, give it: vmrun import SCRIPT --var {name}=VALUE)",
        )
        if note not in self.fixed:
            self.fixed.append(note)
        return True

    def _join(self, segments: tuple[Segment, ...], line: int) -> tuple[str, tuple[Param, ...]]:
        texts: list[str] = []
        params: list[Param] = []
        for seg in segments:
            if isinstance(seg, Lit):
                texts.append(seg.text)
            else:
                text, p = self._segment(seg, line)
                texts.append(text)
                params.extend(p)
        return "".join(texts), tuple(params)

    def _segment(self, seg: Segment, line: int) -> tuple[str, tuple[Param, ...]]:
        if self.depth >= MAX_NESTING:
            from vmrun.errors import ScriptError

            raise ScriptError(
                f"more than {MAX_NESTING} nested ${{...}} or $(...); vmrun import reads no deeper",
                source=self.script_path,
                line=line,
            )
        self.depth += 1
        try:
            return self._worked_out(seg, line)
        finally:
            self.depth -= 1

    def _worked_out(self, seg: Segment, line: int) -> tuple[str, tuple[Param, ...]]:
        if isinstance(seg, Run):
            from vmrun.importer.substitute import CannotRun, substitute

            try:
                fixed = substitute(seg.raw, self, line)
            except CannotRun as e:
                raise Unresolved(str(e)) from None
            if fixed.note and (line, fixed.note) not in self.fixed:
                self.fixed.append((line, fixed.note + "; fixed at import"))
            return fixed.text, ()
        return self._variable(seg, line)

    def _variable(self, var: Var, line: int) -> tuple[str, tuple[Param, ...]]:
        name, op = var.name, var.op
        if op == "unsupported":
            raise Unresolved(f"{var.raw} needs a running shell; write its value into the command instead")
        if name in ("@", "*"):
            if self.args is None:
                raise PassThrough()
            # "$@" is each argument as its own word; $* and "$*" join them with blanks.
            return (_SPLIT.join(self.args) if name == "@" and var.quoted else " ".join(self.args)), ()
        given = self._argument(name)
        if name in self.variables or given is not None:
            value = given if given is not None else self.variables[name]
            if value.problem:
                raise Unresolved(value.problem)
            if op in (":-", ":=") and value.text == "":
                return self._assigned(var, line)
            if op in (":+", "+"):
                return self._join(var.default, line) if (value.text or op == "+") else ("", ())
            return value.text, value.params
        if name == "0":
            return self.script_path, ()
        if name == "#":
            return str(len(self.args or ())), ()
        if op in (":-", "-", ":=", "="):
            return self._assigned(var, line)
        if op in (":+", "+"):
            return "", ()
        if name.isdigit() and self.args is not None:
            raise NeedsArgument(
                f"{var.raw} is the script's argument {name}, but only {len(self.args)} "
                f"{'was' if len(self.args) == 1 else 'were'} given after --"
            )
        if name.isdigit():
            raise NeedsArgument(
                f"{var.raw} is the script's argument {name} and has no default: give the script's "
                f"arguments after --, as in vmrun import SCRIPT -- ARG1 ARG2"
            )
        if op in (":?", "?") or not (name[0].isalpha() or name[0] == "_"):
            raise Unresolved(f"{var.raw} comes from the caller; write its value into the command instead")
        if self.unread and name not in ENVIRONMENT:
            self.missing.setdefault(name, line)  # a file the script sources, not read, may set it
            return var.raw, ()
        if name.islower():
            # $usb1: a shell variable by its case, not the environment's; unset, the shell gives "".
            note = (line, f"{var.raw} is set nowhere in the script: taken as empty, as the shell takes it")
            if note not in self.fixed:
                self.fixed.append(note)
            return "", ()
        # $HOME and the like: kept as written; vmrun expands them in paths.
        self.kept.append((line, var.raw))
        return var.raw, ()

    def _argument(self, name: str) -> Value | None:
        """``$1`` as given after ``--``; None when not given (or no arguments were given at all)."""
        if self.args is None or not name.isdigit() or name == "0" or int(name) > len(self.args):
            return None
        return Value(self.args[int(name) - 1])

    def _assigned(self, var: Var, line: int) -> tuple[str, tuple[Param, ...]]:
        """The default; ``${NAME:=default}`` also sets NAME to it, for the rest of the script."""
        text, params = self._default(var, line)
        if var.op in (":=", "=") and not var.name.isdigit():
            self.variables[var.name] = Value(text, params)
            self.assigned_raw[var.name] = var.raw
        return text, params

    def expand_only(self, words: list[Word]) -> None:
        """``: "${NAME:=default}"``: the words are expanded for their assignments, the command does nothing."""
        for word in words:
            try:
                self.fields(word)
            except (Unresolved, PassThrough):
                continue  # what it would have set stays unset: the command that uses it says so

    def _default(self, var: Var, line: int) -> tuple[str, tuple[Param, ...]]:
        text, inner = self._join(var.default, line)
        return text, (Param(var.name, var.raw, text), *inner)
