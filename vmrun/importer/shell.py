"""Shell text into words, the way /bin/sh would split them, each with its line number.

Only what start.sh scripts use: quotes, backslash continuations, comments,
``${N:-default}`` and ``$NAME`` expansion, redirections and here-documents.
Anything that needs running (``$(...)``, backquotes, arithmetic) is kept as
a marker, and is an error only if the QEMU command itself needs it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from vmrun.errors import ScriptError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]|[@*#?$!-]")
_REDIRECT = re.compile(r"(\d*)(<<-|<<|<>|>>|>&|<&|>\||&>>|&>|<|>)")
_OPERATORS = (";;", "&&", "||", ";", "&", "|", "(", ")")
_BLANK = " \t"
# A backslash, blanks, maybe a comment or text pasted after them (a terminal's prompt, a clock) but no
# backslash ending the line, the line end, then a line of options: meant as a continuation.
_DANGLING = re.compile(r"[ \t]+(?:[^\n]*[^\\\s])?[ \t]*\n[ \t]*-")
MAX_NESTING = (
    32  # ${...} within ${...} (here), within $(...) (expand.py): scripts use a few; deeper would exhaust Python's stack
)


@dataclass(frozen=True)
class Lit:
    text: str
    quoted: bool


@dataclass(frozen=True)
class Var:
    """``$NAME``, ``${NAME}``, ``${NAME:-default}``; ``op`` is "" or the ``:-``-like operator."""

    name: str
    op: str
    default: tuple[Segment, ...]
    quoted: bool
    raw: str


@dataclass(frozen=True)
class Run:
    """``$(...)``, backquotes or ``$((...))``: text only a running shell knows."""

    raw: str
    quoted: bool


Segment = Lit | Var | Run


@dataclass(frozen=True)
class Word:
    segments: tuple[Segment, ...]
    line: int
    raw: str


@dataclass(frozen=True)
class Redirect:
    fd: str
    op: str
    target: Word | None
    line: int


@dataclass(frozen=True)
class Op:
    text: str  # ";", "&&", "|", "\n", ...
    line: int


@dataclass(frozen=True)
class Comment:
    text: str  # after the '#'
    line: int
    alone: bool  # nothing but blanks before it on its line


Token = Word | Redirect | Op


@dataclass
class Lexed:
    tokens: list[Token] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    # Lines that end in a backslash followed by blanks (or blanks and a comment or pasted text) before a line of
    # options: the backslash escapes a blank, not the line end, so the command ends on that line.
    dangling: set[int] = field(default_factory=set)


def lex(text: str, source: str) -> Lexed:
    return _Lexer(text, source).run()


class _Lexer:
    def __init__(self, text: str, source: str) -> None:
        self.s = text
        self.i = 0
        self.line = 1
        self.source = source
        self.out = Lexed()
        self.heredocs: list[tuple[str, bool, int]] = []
        self.nesting = 0  # ${ ... } being read, each within the one before

    def error(self, message: str, line: int | None = None) -> ScriptError:
        return ScriptError(message, source=self.source, line=line or self.line)

    def peek(self, n: int = 0) -> str:
        j = self.i + n
        return self.s[j] if j < len(self.s) else ""

    def take(self, n: int = 1) -> str:
        chunk = self.s[self.i : self.i + n]
        self.line += chunk.count("\n")
        self.i += n
        return chunk

    def run(self) -> Lexed:
        while self.i < len(self.s):
            c = self.peek()
            if c == "\\" and self.peek(1) == "\n":
                self.take(2)
            elif c in _BLANK:
                self.take()
            elif c == "#":
                self.comment()
            elif c == "\n":
                self.out.tokens.append(Op("\n", self.line))
                self.take()
                self.skip_heredocs()
            elif m := _REDIRECT.match(self.s, self.i):
                self.redirect(m)
            elif op := next((o for o in _OPERATORS if self.s.startswith(o, self.i)), None):
                self.out.tokens.append(Op(op, self.line))
                self.take(len(op))
            else:
                self.out.tokens.append(self.word())
        return self.out

    def comment(self) -> None:
        start = self.s.rfind("\n", 0, self.i) + 1
        alone = self.s[start : self.i].strip(_BLANK) == ""
        end = self.s.find("\n", self.i)
        end = len(self.s) if end < 0 else end
        self.out.comments.append(Comment(self.s[self.i + 1 : end], self.line, alone))
        self.i = end

    def redirect(self, m: re.Match[str]) -> None:
        line = self.line
        self.take(m.end() - m.start())
        fd, op = m.group(1), m.group(2)
        while self.peek() in _BLANK and self.peek():
            self.take()
        target = None
        if self.peek() and self.peek() not in "\n;&|()<>":
            target = self.word()
        if op in ("<<", "<<-"):
            if target is None:
                raise self.error("a here-document (<<) without its end word", line)
            self.heredocs.append((_plain(target), op == "<<-", line))
        self.out.tokens.append(Redirect(fd, op, target, line))

    def skip_heredocs(self) -> None:
        while self.heredocs:
            end, strip_tabs, start_line = self.heredocs.pop(0)
            while True:
                if self.i >= len(self.s):
                    raise self.error(f"the here-document is never ended by a line {end!r}", start_line)
                nl = self.s.find("\n", self.i)
                nl = len(self.s) if nl < 0 else nl
                text = self.s[self.i : nl]
                self.take(min(nl + 1, len(self.s)) - self.i)
                if (text.lstrip("\t") if strip_tabs else text) == end:
                    break

    def word(self, stop: str = "", quoted: bool = False) -> Word:
        """One word; ``stop`` ends it early (``}`` of a ``${...:-default}``)."""
        line, start = self.line, self.i
        segments: list[Segment] = []
        buf: list[str] = []

        def flush(q: bool) -> None:
            if buf:
                segments.append(Lit("".join(buf), q))
                buf.clear()

        while self.i < len(self.s):
            c = self.peek()
            if stop and c in stop:
                break
            if not stop and (c in _BLANK or c in "\n;&|()<>"):
                break
            if c == "\\":
                nxt = self.peek(1)
                if nxt == "\n":
                    self.take(2)
                    continue
                if not nxt:
                    raise self.error("the script ends with a lone backslash")
                if nxt in _BLANK and _DANGLING.match(self.s, self.i + 1):
                    self.out.dangling.add(self.line)
                flush(quoted)
                self.take()
                buf.append(self.take())
                flush(True)
            elif c == "'" and not quoted:
                flush(quoted)
                open_line = self.line
                end = self.s.find("'", self.i + 1)
                if end < 0:
                    raise self.error("this single quote (') is never closed", open_line)
                text = self.s[self.i + 1 : end]
                self.take(end + 1 - self.i)
                segments.append(Lit(text, True))
            elif c == '"' and (not quoted or stop):
                # "${X:-"a b"}": bash removes the inner double quotes too (single ones stay literal there).
                flush(quoted)
                segments += self.double_quoted()
            elif c == "$":
                flush(quoted)
                segments.append(self.dollar(quoted))
            elif c == "`":
                flush(quoted)
                segments.append(Run(self.backquoted(), quoted))
            else:
                buf.append(self.take())
        flush(quoted)
        return Word(tuple(segments), line, self.s[start : self.i])

    def double_quoted(self) -> list[Segment]:
        open_line = self.line
        self.take()
        segments: list[Segment] = []
        buf: list[str] = []
        while True:
            c = self.peek()
            if not c:
                raise self.error('this double quote (") is never closed', open_line)
            if c == '"':
                self.take()
                break
            if c == "\\" and self.peek(1) in '$`"\\\n':
                self.take()
                nxt = self.take()
                if nxt != "\n":
                    buf.append(nxt)
            elif c in "$`":
                if buf:
                    segments.append(Lit("".join(buf), True))
                    buf.clear()
                segments.append(self.dollar(True) if c == "$" else Run(self.backquoted(), True))
            else:
                buf.append(self.take())
        segments.append(Lit("".join(buf), True))
        return segments

    def backquoted(self) -> str:
        open_line, start = self.line, self.i
        self.take()
        while self.peek() != "`":
            if not self.peek():
                raise self.error("this backquote (`) is never closed", open_line)
            self.take(2 if self.peek() == "\\" else 1)
        self.take()
        return self.s[start : self.i]

    def dollar(self, quoted: bool) -> Segment:
        start, open_line = self.i, self.line
        nxt = self.peek(1)
        if nxt == "(":
            self.take()
            depth = 0
            while True:
                c = self.take()
                if not c:
                    raise self.error("this $( is never closed", open_line)
                depth += {"(": 1, ")": -1}.get(c, 0)
                if depth == 0:
                    return Run(self.s[start : self.i], quoted)
        if nxt == "{":
            self.take(2)
            m = _NAME.match(self.s, self.i)
            if not m:
                raise self.error(f"cannot read {self.s[start : self.i + 10]!r}: a ${{...}} without a name", open_line)
            self.take(m.end() - m.start())
            op_m = re.compile(r":?[-=+?]|}").match(self.s, self.i)
            if not op_m:
                # ${#x}, ${x%y}, ${x/a/b}, ${a[@]}: a shell can, we do not.
                end = self.s.find("}", self.i)
                if end < 0:
                    raise self.error("this ${ is never closed", open_line)
                self.take(end + 1 - self.i)
                return Var(m.group(), "unsupported", (), quoted, self.s[start : self.i])
            op = op_m.group()
            self.take(len(op))
            default: tuple[Segment, ...] = ()
            if op != "}":
                if self.nesting >= MAX_NESTING:
                    raise self.error(
                        f"more than {MAX_NESTING} nested ${{...}}; vmrun import reads no deeper", open_line
                    )
                self.nesting += 1
                default = self.word(stop="}", quoted=quoted).segments
                self.nesting -= 1
                if self.peek() != "}":
                    raise self.error("this ${ is never closed", open_line)
                self.take()
            return Var(m.group(), "" if op == "}" else op, default, quoted, self.s[start : self.i])
        m = _NAME.match(self.s, self.i + 1)
        if not m:
            self.take()
            return Lit("$", quoted)
        self.take(1 + len(m.group()))
        return Var(m.group(), "", (), quoted, self.s[start : self.i])


def _plain(word: Word) -> str:
    return "".join(s.text if isinstance(s, Lit) else s.raw for s in word.segments)
