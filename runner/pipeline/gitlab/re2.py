"""RE2 patterns (GitLab's regex engine) translated into Python ``re`` patterns that match alike.

GitLab runs ``=~`` regexes with RE2, whose syntax differs from Python's in both directions:
some RE2 spellings mean something else (or nothing) to Python, and some Python features
(lookarounds, backreferences) are errors in RE2.  `compile_re2` bridges the two so that a
pattern is accepted, rejected and matched as GitLab would, or fails with `RegexError`
saying which of those it cannot do.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Literal

__all__ = ["RegexError", "compile_re2"]


class RegexError(Exception):
    """A pattern RE2 rejects ("invalid") or one RE2 accepts that we cannot run ("unsupported").

    ``kind`` tells the two apart because callers treat them differently: GitLab silently
    falls back to a substring test for an invalid pattern held in a variable, while an
    unsupported one must fail loudly rather than guess.
    """

    def __init__(self, kind: Literal["invalid", "unsupported"], message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _invalid(message: str) -> RegexError:
    return RegexError("invalid", message)


def _unsupported(message: str) -> RegexError:
    return RegexError("unsupported", message + ", which RE2 accepts but this runner cannot run")


_INLINE_MULTILINE = re.compile(r"\(\?[imsU]*m")
_REPEAT = re.compile(r"\{(\d+)(,(\d*))?\}")
_RE2_MAX_REPEAT = 1000
_NAMED_GROUP = re.compile(r"\(\?P?<(\w+)>", re.ASCII)
_FLAG_GROUP = re.compile(r"\(\?([^:)]*)([:)])")
_RE2_FLAGS = re.compile(r"[imsU]*(-[imsU]+)?")
_POSIX_CLASS = re.compile(r"\[:(\^?)([a-z]+):\]")
_POSIX_RANGES = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
_PLAIN_ESCAPES = frozenset("afnrtvdDsSwW")
_ANCHOR_ESCAPES = frozenset("AbB")
_OCTAL = "01234567"
_HEX = "0123456789abcdefABCDEF"


@functools.lru_cache(maxsize=512)
def compile_re2(source: str, flags: str) -> re.Pattern[str]:
    """A Python pattern matching what RE2 would for ``/source/flags``; raises `RegexError`.

    ``flags`` are GitLab's regex flags (any of ``ismU``).  ``re.ASCII`` gives RE2's ASCII
    ``\\d \\w \\s \\b``; the price is that ``i`` folds only ASCII letters (RE2 folds
    all of Unicode).  ``U`` (ungreedy) is dropped: greediness never changes *whether* a
    pattern matches, which is all ``=~`` asks.  Compiled patterns are cached: a literal is
    compiled when parsed and again at each evaluation.
    """
    multiline = "m" in flags or _INLINE_MULTILINE.search(source) is not None
    translated = _Translator(source, multiline=multiline).run()
    py_flags = re.ASCII
    for letter, flag in (("i", re.IGNORECASE), ("m", re.MULTILINE), ("s", re.DOTALL)):
        if letter in flags:
            py_flags |= flag
    try:
        return re.compile(translated, py_flags)
    except re.error as exc:
        raise _invalid(str(exc)) from None


class _Translator:
    """Rewrites an RE2 pattern into Python ``re`` syntax with the same matches.

    RE2 features Python spells differently are rewritten: ``$`` (end of text unless
    ``m``) becomes ``\\Z``, ``\\z`` ``\\Z``, ``(?<name>`` ``(?P<name>``, ``\\Q…\\E`` an
    escaped literal, ``\\x{…}``/octal escapes plain escapes, ``[[:alpha:]]`` ASCII
    ranges, ``{,n}`` a literal brace, and mid-pattern ``(?i)`` (an error in Python
    3.11) a scoped ``(?i:…)`` group that ends with the enclosing group or alternative.
    What RE2 rejects is rejected ("invalid", as GitLab would): lookarounds,
    backreferences, possessive and atomic forms, ``\\Z``, unknown escapes and flags,
    repeats over 1000.  What RE2 accepts but Python lacks (``\\p{…}``, ``\\C``,
    negated POSIX classes) is "unsupported".
    """

    def __init__(self, source: str, *, multiline: bool) -> None:
        self.src = source
        self.pos = 0
        self.multiline = multiline
        self.out: list[str] = []
        self.frames: list[list[str]] = [[]]
        """Per open group, the scoped flag groups opened by ``(?flags)`` inside it."""
        self.after_dash = False
        """Whether the class item just read was an unescaped ``-``."""

    def run(self) -> str:
        while self.pos < len(self.src):
            handler = _TRANSLATE.get(self.src[self.pos])
            if handler is None:
                self.out.append(self.src[self.pos])
                self.pos += 1
            else:
                handler(self)
        if len(self.frames) > 1:
            raise _invalid("missing closing )")
        self.out.append(")" * len(self.frames[0]))
        return "".join(self.out)

    def dollar(self) -> None:
        self.out.append("$" if self.multiline else "\\Z")
        self.pos += 1

    def quantifier(self) -> None:
        self.out.append(self.src[self.pos])
        self.pos += 1
        self.after_quantifier()

    def brace(self) -> None:
        repeat = _REPEAT.match(self.src, self.pos)
        if repeat is None:  # RE2 reads a brace that starts no repeat as a literal
            self.out.append("\\{")
            self.pos += 1
            return
        low = int(repeat.group(1))
        high = low if repeat.group(2) is None else int(repeat.group(3) or low)
        if max(low, high) > _RE2_MAX_REPEAT:
            raise _invalid(f"bad repetition operator {repeat.group()}: RE2 allows at most 1000")
        self.out.append(repeat.group())
        self.pos = repeat.end()
        self.after_quantifier()

    def after_quantifier(self) -> None:
        if self.src.startswith("?", self.pos):
            self.out.append("?")
            self.pos += 1
        if self.src.startswith("+", self.pos):
            raise _invalid("bad repetition operator: possessive quantifiers are not RE2")

    def alternative(self) -> None:
        scoped = self.frames[-1]
        self.out.append(")" * len(scoped) + "|" + "".join(scoped))
        self.pos += 1

    def close(self) -> None:
        if len(self.frames) == 1:
            raise _invalid("unexpected )")
        self.out.append(")" * len(self.frames.pop()) + ")")
        self.pos += 1

    def open(self) -> None:
        if not self.src.startswith("(?", self.pos):
            self.out.append("(")
            self.frames.append([])
            self.pos += 1
            return
        if self.src.startswith(("(?=", "(?!", "(?<=", "(?<!"), self.pos):
            raise _invalid("lookaround assertions are not RE2")
        named = _NAMED_GROUP.match(self.src, self.pos)
        if named is not None:
            self.out.append(f"(?P<{named.group(1)}>")
            self.frames.append([])
            self.pos = named.end()
            return
        flags = _FLAG_GROUP.match(self.src, self.pos)
        if flags is None or not _RE2_FLAGS.fullmatch(flags.group(1)):
            raise _invalid(f"unsupported group {self.src[self.pos : self.pos + 4]!r}")
        self.flag_group(flags.group(1), scoped=flags.group(2) == ":")
        self.pos = flags.end()

    def flag_group(self, letters: str, *, scoped: bool) -> None:
        on, _, off = letters.replace("U", "").partition("-")
        opener = f"(?{on}-{off}:" if off else f"(?{on}:"
        if scoped:
            self.out.append(opener)
            self.frames.append([])
        elif not letters:
            raise _invalid("missing flags in (?)")
        elif on or off:
            self.out.append(opener)
            self.frames[-1].append(opener)

    def char_class(self) -> None:
        self.out.append("[")
        self.pos += 1
        self.after_dash = False
        for prefix, emitted in (("^", "^"), ("]", "\\]")):
            if self.src.startswith(prefix, self.pos):
                self.out.append(emitted)
                self.pos += 1
        while self.pos < len(self.src) and self.src[self.pos] != "]":
            self.out.append(self.class_item())
        if self.pos >= len(self.src):
            raise _invalid("missing closing ]")
        self.out.append("]")
        self.pos += 1

    def class_item(self) -> str:
        char = self.src[self.pos]
        after_dash, self.after_dash = self.after_dash, char == "-"
        if char == "\\":
            return self.escape_sequence(in_class=True)
        posix = _POSIX_CLASS.match(self.src, self.pos) if char == "[" else None
        if posix is None:
            self.pos += 1
            # Escaped so that Python reads them literally, as RE2 does, instead of warning
            # about (or one day applying) set operations like [a&&b] or [a--b].
            return "\\" + char if char in "[&~|" or (char == "-" and after_dash) else char
        self.pos = posix.end()
        if posix.group(1):
            raise _unsupported(f"the negated class [:^{posix.group(2)}:]")
        if posix.group(2) not in _POSIX_RANGES:
            raise _invalid(f"unknown class [:{posix.group(2)}:]")
        return _POSIX_RANGES[posix.group(2)]

    def escape(self) -> None:
        self.out.append(self.escape_sequence(in_class=False))

    def escape_sequence(self, *, in_class: bool) -> str:
        if self.pos + 1 >= len(self.src):
            raise _invalid("trailing backslash")
        char = self.src[self.pos + 1]
        self.pos += 2
        if char in _PLAIN_ESCAPES or (not in_class and char in _ANCHOR_ESCAPES):
            return "\\" + char
        if char.isascii() and not char.isalnum():
            return "\\" + char
        special = _ESCAPES.get(char)
        if special is None or (in_class and char in "zQ"):
            raise _invalid(f"invalid escape \\{char}")
        return special(self)

    def octal(self) -> str:
        start = self.pos - 1
        digits = self.src[start]
        while len(digits) < 3 and self.src[self.pos : self.pos + 1] in tuple(_OCTAL):
            digits += self.src[self.pos]
            self.pos += 1
        if digits[0] != "0" and len(digits) == 1:
            raise _invalid(f"backreference \\{digits}: RE2 has none")
        return _literal(int(digits, 8))

    def hexadecimal(self) -> str:
        if self.src.startswith("{", self.pos):
            end = self.src.find("}", self.pos)
            if end == -1:
                raise _invalid("unterminated \\x{")
            digits = self.src[self.pos + 1 : end]
            self.pos = end + 1
        else:
            digits = self.src[self.pos : self.pos + 2]
            self.pos += 2
            if len(digits) != 2:
                raise _invalid("\\x needs two hexadecimal digits")
        if not 0 < len(digits) <= 8 or any(c not in _HEX for c in digits):
            raise _invalid(f"bad hexadecimal escape {digits!r}")
        if int(digits, 16) > 0x10FFFF:
            raise _invalid("hexadecimal escape beyond Unicode")
        return _literal(int(digits, 16))

    def quoted(self) -> str:
        end = self.src.find("\\E", self.pos)
        end = len(self.src) if end == -1 else end
        text = self.src[self.pos : end]
        self.pos = min(end + 2, len(self.src))
        return re.escape(text)

    def end_of_text(self) -> str:
        return "\\Z"

    def unicode_class(self) -> str:
        raise _unsupported("the Unicode class \\" + self.src[self.pos - 1])

    def any_byte(self) -> str:
        raise _unsupported("\\C (any byte)")


def _literal(code: int) -> str:
    return re.escape(chr(code)) if code >= 0x20 else f"\\x{code:02x}"


def _reject_backreference(translator: _Translator) -> str:
    raise _invalid(f"backreference \\{translator.src[translator.pos - 1]}: RE2 has none")


_TRANSLATE: dict[str, Callable[[_Translator], None]] = {
    "\\": _Translator.escape,
    "[": _Translator.char_class,
    "(": _Translator.open,
    ")": _Translator.close,
    "|": _Translator.alternative,
    "$": _Translator.dollar,
    "{": _Translator.brace,
    "*": _Translator.quantifier,
    "+": _Translator.quantifier,
    "?": _Translator.quantifier,
}
_ESCAPES: dict[str, Callable[[_Translator], str]] = {
    **dict.fromkeys(_OCTAL, _Translator.octal),
    "8": _reject_backreference,
    "9": _reject_backreference,
    "x": _Translator.hexadecimal,
    "Q": _Translator.quoted,
    "z": _Translator.end_of_text,
    "p": _Translator.unicode_class,
    "P": _Translator.unicode_class,
    "C": _Translator.any_byte,
}
