"""``aroma cypher`` output and its interactive shell, in cypher-shell's habits.

Statements may span lines and end with ``;``; ``:param name => expression`` sets a parameter (the
expression is evaluated by the server, read-only), ``:params`` lists them, ``:history``, ``:format``,
``:help`` and ``:exit``. Each statement is timed. The shell keeps one store (one driver, one pooled
connection) and the same read-only rules as single queries.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from aroma.errors import AromaError, not_utf8, shown
from aroma.kg.cypher_text import UntokenizableQuery, tokenize
from aroma.kg.store import GraphStore, QueryResult

FORMATS = ("table", "json", "csv")
HISTORY_ENV = "AROMA_CYPHER_HISTORY"
HELP = """\
Statements end with ';' and may span lines.
  :param name => expression   set a parameter (e.g. :param gene => 'TP53')
  :param {a: 1, b: 'x'}       set several parameters from a map
  :params                     list parameters      :params clear   remove them all
  :format table|json|csv      how results are printed
  :history                    statements run so far
  :help                       this text            :exit           leave (also Ctrl-D)"""


def finite(value: Any) -> Any:
    """NaN and ±Infinity become None (JSON null); containers are walked."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [finite(v) for v in value]
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    return value


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _rows_word(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def print_result(result: QueryResult, fmt: str, out: TextIO, err: TextIO) -> None:
    """Rows as a table, JSON (null for NaN/Infinity) or CSV (LF line ends); warnings and changes on ``err``."""
    if fmt == "json":
        out.write(json.dumps(finite(result.rows), indent=1, allow_nan=False) + "\n")
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows([_cell(row.get(c)) for c in result.columns] for row in result.rows)
    else:
        table = Table(*result.columns, caption=_rows_word(len(result.rows)))
        for row in result.rows:
            table.add_row(*(_cell(row.get(c)) for c in result.columns))
        Console(file=out, highlight=False, width=max(Console(file=out).width, 80)).print(table)
    if fmt != "table" and not result.rows:
        err.write("0 rows\n")
    for note in result.notifications:
        err.write(note if note.startswith("warning:") else f"warning: {note}")
        err.write("\n")
    if result.counters:
        err.write("changes: " + ", ".join(f"{k}={v}" for k, v in result.counters.items()) + "\n")


def split_statements(text: str) -> tuple[list[str], str]:
    """Complete statements (each ended by a top-level ';') and the unfinished rest of ``text``."""
    try:
        tokens = tokenize(text)
    except UntokenizableQuery:  # an open string or comment: the statement goes on
        return [], text
    done, start = [], 0
    for token in tokens:
        if token.kind == "punct" and token.text == ";":
            statement = text[start : token.offset].strip()
            if statement:
                done.append(statement)
            start = token.end
    return done, text[start:]


@dataclass
class CypherShell:
    """A read–evaluate–print loop over one ``GraphStore``."""

    store: GraphStore
    params: dict[str, Any] = field(default_factory=dict)
    write: bool = False
    allow_file_urls: bool = False
    fmt: str = "table"
    history: list[str] = field(default_factory=list)
    failures: int = 0

    def run(self, stdin: TextIO, out: TextIO, err: TextIO) -> int:
        """Read statements and commands until :exit or end of input; 1 if any statement failed."""
        if hasattr(stdin, "reconfigure"):  # bytes that are not UTF-8 reach ``execute``, which names them
            stdin.reconfigure(errors="surrogateescape")
        interactive = stdin.isatty()
        if interactive:
            self._readline()
        mode = "read-write" if self.write else "read-only (--write to change the graph)"
        err.write(f"connected to {self.store.target}, database {self.store.database}; {mode}. "
                  f"Type :help for commands, :exit to leave.\n")
        pending = ""
        while True:
            line = self._read(stdin, interactive, pending)
            if line is None:
                break
            if not pending.strip() and line.strip().startswith(":"):
                if not self.command(line.strip(), out, err):
                    break
                continue
            statements, pending = split_statements(pending + line + "\n")
            for statement in statements:
                self.execute(statement, out, err)
        if pending.strip():
            self.execute(pending.strip(), out, err)
        return 1 if self.failures else 0

    def _read(self, stdin: TextIO, interactive: bool, pending: str) -> str | None:
        if interactive:
            try:
                return input("aroma> " if not pending.strip() else "     > ")
            except EOFError:
                return None
        line = stdin.readline()
        return None if line == "" else line.rstrip("\n")

    def _readline(self) -> None:
        try:
            import readline
        except ImportError:
            return
        path = Path(os.environ.get(HISTORY_ENV) or Path.home() / ".aroma" / "cypher_history")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists():
                readline.read_history_file(path)
            import atexit

            atexit.register(readline.write_history_file, path)
        except OSError:
            pass

    def execute(self, statement: str, out: TextIO, err: TextIO) -> None:
        """Run one statement with the shell's parameters and print its rows and timing."""
        self.history.append(statement)
        if not_utf8(statement):
            self.failures += 1
            err.write(f"error: this statement is not valid UTF-8 text: {shown(statement)!r}\n")
            return
        start = time.perf_counter()
        try:
            result = self.store.run(statement, self.params, write=self.write, allow_file_urls=self.allow_file_urls)
        except AromaError as exc:
            self.failures += 1
            err.write(f"error: {exc}\n")
            return
        elapsed = (time.perf_counter() - start) * 1000
        print_result(result, self.fmt, out, err)
        err.write(f"{_rows_word(len(result.rows))}, {elapsed:.0f} ms\n")

    def command(self, line: str, out: TextIO, err: TextIO) -> bool:
        """A ``:command``; False when the shell should end."""
        name, _, rest = line.partition(" ")
        rest = rest.strip()
        if name in (":exit", ":quit"):
            return False
        if name == ":help":
            out.write(HELP + "\n")
        elif name == ":params":
            if rest == "clear":
                self.params.clear()
            else:
                out.write(json.dumps(finite(self.params), indent=1, sort_keys=True, default=str) + "\n")
        elif name == ":param":
            self._param(rest, err)
        elif name == ":history":
            out.write("".join(f"{i:>3}  {s}\n" for i, s in enumerate(self.history, start=1)))
        elif name == ":format":
            if rest in FORMATS:
                self.fmt = rest
            else:
                err.write(f"error: :format takes one of {', '.join(FORMATS)}\n")
        else:
            err.write(f"error: unknown command {name!r}; :help lists them\n")
        return True

    def _param(self, text: str, err: TextIO) -> None:
        """``name => expression`` or a map ``{a: 1}``, evaluated by the server under the read-only rules."""
        text = text.rstrip(";").strip()
        if not_utf8(text):
            err.write(f"error: :param {shown(text)!r} is not valid UTF-8 text\n")
            return
        if "=>" in text:
            name, _, expression = text.partition("=>")
            name = name.strip().strip("`")
            if not name:
                err.write("error: :param needs a name: :param name => expression\n")
                return
            query = f"RETURN {expression.strip()} AS value"
        elif text.startswith("{"):
            name, query = "", f"RETURN {text} AS value"
        else:
            err.write("error: use :param name => expression, or :param {name: value, ...}\n")
            return
        try:
            value = self.store.run(query, self.params, allow_file_urls=False).rows[0]["value"]
        except AromaError as exc:
            err.write(f"error: {exc}\n")
            return
        if name:
            self.params[name] = value
        elif isinstance(value, dict):
            self.params.update(value)
        else:
            err.write("error: :param {…} needs a map\n")
