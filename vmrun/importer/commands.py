"""A script's text as commands: words split at ``|``, ``&``, ``;``, ``&&`` and newlines, with the
keywords and assignments that are not a program told apart. Shared by the script and the files it
sources."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vmrun.importer.shell import Op, Redirect, Word
from vmrun.importer.unknowns import PassThrough, Unresolved

if TYPE_CHECKING:
    from vmrun.importer.expand import Env

# Words a command can start with that are not the program it runs.
KEYWORDS = {"if", "then", "else", "elif", "do", "while", "until", "!", "{", "time"}
DECLARE = {"export", "readonly", "local", "declare", "typeset"}


@dataclass
class Command:
    words: list[Word] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)
    after: Op | None = None  # what ended it: "|", "&", ";", "&&", a newline


def commands(tokens: list) -> list[Command]:
    out = [Command()]
    for tok in tokens:
        if isinstance(tok, Op):
            if out[-1].words or out[-1].redirects:
                out[-1].after = tok
                out.append(Command())
        elif isinstance(tok, Redirect):
            out[-1].redirects.append(tok)
        else:
            out[-1].words.append(tok)
    return [c for c in out if c.words]


def strip_keywords(words: list[Word]) -> list[Word]:
    i = 0
    while i < len(words) and words[i].raw in KEYWORDS:
        i += 1
    return words[i:]


def is_assignments(words: list[Word], env: Env) -> bool:
    body = words[1:] if words[0].raw in DECLARE else words
    if not body or not all(looks_assigned(w) for w in body):
        return False
    for w in body:
        env.assign(w)
    return True


def looks_assigned(word: Word) -> bool:
    return re.match(r"^[A-Za-z_][A-Za-z0-9_]*\+?=", word.raw) is not None


def soft_words(words: list[Word], env: Env) -> list[str]:
    out: list[str] = []
    for word in words:
        try:
            out += [f.text for f in env.fields(word)]
        except (Unresolved, PassThrough):
            out.append(word.raw)
    return out
