"""Cypher text as tokens: strings, comments and quoted names told apart from keywords.

Used for the friendly early refusal of obvious writes (``aroma.kg.readonly``; the server is the barrier), to split
the shell's statements, and to name a query's columns and the labels, types and properties it mentions (for
engines that report neither on empty results).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Token:
    kind: str  # word, quoted, string, param, number, punct
    text: str
    offset: int
    end: int = 0  # offset just after the token in the query text


_WORD = re.compile(r"[^\W\d]\w*")  # letters, digits, underscores: never a Unicode space (U+2003, U+3000 …)
# What ends a ``//`` comment for the servers: any line end, CR and the Unicode line separators included.
_LINE_END = re.compile(r"[\n\r\u0085\u2028\u2029]")
_NUMBER = re.compile(r"(?:0x[0-9A-Fa-f]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)")
_PARAM = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*|\d+|`(?:[^`]|``)*`)")


class UntokenizableQuery(ValueError):
    """An unterminated string, comment or quoted name: the text cannot be checked."""


def tokenize(text: str, *, escapes: bool = True) -> list[Token]:
    """Cypher tokens; comments are dropped, strings and quoted names keep their decoded content."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif text.startswith("//", i):
            end = _LINE_END.search(text, i)
            i = n if end is None else end.end()
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise UntokenizableQuery("unterminated /* comment")
            i = end + 2
        elif ch in "'\"":
            j, value = i + 1, []
            while j < n and text[j] != ch:
                if escapes and text[j] == "\\" and j + 1 < n:
                    value.append(text[j : j + 2])
                    j += 2
                else:
                    value.append(text[j])
                    j += 1
            if j >= n:
                raise UntokenizableQuery("unterminated string literal")
            tokens.append(Token("string", _unescape("".join(value)), i, j + 1))
            i = j + 1
        elif ch == "`":
            j = i + 1
            while True:
                j = text.find("`", j)
                if j < 0:
                    raise UntokenizableQuery("unterminated `quoted name`")
                if text.startswith("``", j):
                    j += 2
                    continue
                break
            tokens.append(Token("quoted", text[i + 1 : j].replace("``", "`"), i, j + 1))
            i = j + 1
        elif ch == "$":
            match = _PARAM.match(text, i)
            if not match:
                tokens.append(Token("punct", ch, i, i + 1))
                i += 1
            else:
                tokens.append(Token("param", match.group(0)[1:].strip("`"), i, match.end()))
                i = match.end()
        elif (match := _WORD.match(text, i)) is not None:
            tokens.append(Token("word", match.group(0), i, match.end()))
            i = match.end()
        elif (match := _NUMBER.match(text, i)) is not None:
            tokens.append(Token("number", match.group(0), i, match.end()))
            i = match.end()
        else:
            tokens.append(Token("punct", ch, i, i + 1))
            i += 1
    return tokens


def _unescape(body: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}.get(m.group(1), m.group(1)),
                  body)


def statements(tokens: list[Token]) -> list[list[Token]]:
    statements: list[list[Token]] = [[]]
    for token in tokens:
        if token.kind == "punct" and token.text == ";":
            statements.append([])
        else:
            statements[-1].append(token)
    return [s for s in statements if s]



def return_columns(text: str) -> list[str]:
    """The column names of the last RETURN of ``text`` (alias, or the expression as written); [] for ``*``."""
    try:
        tokens = tokenize(text)
    except UntokenizableQuery:
        return []
    starts = [i for i, t in enumerate(tokens) if t.kind == "word" and t.text.upper() == "RETURN"
              and (i == 0 or tokens[i - 1].text != ".")]
    if not starts:
        return []
    items: list[list[Token]] = [[]]
    depth = 0
    index = starts[-1] + 1
    if index < len(tokens) and tokens[index].kind == "word" and tokens[index].text.upper() == "DISTINCT":
        index += 1
    for token in tokens[index:]:
        if token.kind == "punct" and token.text in "([{":
            depth += 1
        elif token.kind == "punct" and token.text in ")]}":
            depth -= 1
        elif depth == 0 and token.kind == "word" and token.text.upper() in ("ORDER", "SKIP", "LIMIT", "UNION", "OFFSET"):
            break
        elif depth == 0 and token.kind == "punct" and token.text in ",;":
            if token.text == ";":
                break
            items.append([])
            continue
        items[-1].append(token)
    columns = []
    for item in items:
        if not item or (len(item) == 1 and item[0].text == "*"):
            continue
        if len(item) >= 3 and item[-2].kind == "word" and item[-2].text.upper() == "AS":
            columns.append(item[-1].text)
        else:
            columns.append(text[item[0].offset : item[-1].end])
    return columns


@dataclass
class SchemaNames:
    labels: set[str]
    types: set[str]
    properties: set[str]


def schema_names(text: str) -> SchemaNames:
    """Node labels, relationship types and property keys that ``text`` mentions."""
    names = SchemaNames(set(), set(), set())
    try:
        tokens = tokenize(text)
    except UntokenizableQuery:
        return names
    stack: list[str] = []
    for i, token in enumerate(tokens):
        if token.kind == "punct" and token.text in "([{":
            stack.append(token.text)
            continue
        if token.kind == "punct" and token.text in ")]}":
            if stack:
                stack.pop()
            continue
        if token.kind not in ("word", "quoted") or i == 0:
            continue
        before = tokens[i - 1]
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        if before.kind == "punct" and before.text in (":", "|", "&", "!") and (not stack or stack[-1] != "{"):
            (names.types if stack and stack[-1] == "[" else names.labels).add(token.text)
        elif before.kind == "punct" and before.text == "." and not (after and after.text in ("(", ".")) \
                and i >= 2 and tokens[i - 2].kind in ("word", "quoted", "punct") and tokens[i - 2].text not in ("$",):
            if not (i >= 3 and tokens[i - 3].kind == "word" and tokens[i - 3].text.upper() == "CALL"):
                names.properties.add(token.text)
    return names
