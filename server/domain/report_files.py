"""The reports as files: CSV and XLSX of the summary's figures and of the consultation list (pure renderers).

The summary becomes one row per figure (`section.figure`, value), the same numbers the JSON gives.
CSV is UTF-8 with a byte-order mark so that spreadsheet programs read the Indonesian text correctly;
XLSX is written with openpyxl in its write-only mode (rows streamed into the file, not held as cells).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

Doc = dict[str, Any]

CSV_TYPE = "text/csv"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOM = "\ufeff"
CSV_CHUNK_ROWS = 500
# Cells longer than this are cut: a spreadsheet cell holds at most 32,767 characters.
XLSX_CELL_MAX = 32_000


def figures(summary: Doc) -> list[tuple[str, Any]]:
    """The summary flattened to (dotted name, value) in its own order; lists are joined with commas."""
    out: list[tuple[str, Any]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list):
            out.append((prefix, ", ".join(str(v) for v in value)))
        else:
            out.append((prefix, value))

    walk("", summary)
    return out


def _csv_line(values: Iterable[Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(["" if v is None else v for v in values])
    return buf.getvalue()


def summary_csv(summary: Doc) -> bytes:
    """The summary as CSV: a header `figure,value`, then one line per figure."""
    lines = [_csv_line(("figure", "value"))]
    lines += [_csv_line(row) for row in figures(summary)]
    return (BOM + "".join(lines)).encode("utf-8")


def _bold(ws: Any, values: Iterable[Any]) -> list[Any]:
    cells = []
    for v in values:
        cell = WriteOnlyCell(ws, value=v)
        cell.font = Font(bold=True)
        cells.append(cell)
    return cells


def _cell(value: Any) -> Any:
    if isinstance(value, str) and len(value) > XLSX_CELL_MAX:
        return value[:XLSX_CELL_MAX]
    return value


def _save(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def summary_xlsx(summary: Doc, title: str = "Ringkasan") -> bytes:
    """The summary as a one-sheet workbook: figure names in column A, values (numbers as numbers) in B."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31])
    ws.append(_bold(ws, ("figure", "value")))
    for name, value in figures(summary):
        ws.append([name, _cell(value)])
    return _save(wb)


async def list_csv(columns: Iterable[str], rows: AsyncIterator[list[Any]]) -> AsyncIterator[bytes]:
    """The consultation list as CSV, in chunks as the rows arrive from the database."""
    chunk = [BOM + _csv_line(columns)]
    async for row in rows:
        chunk.append(_csv_line(row))
        if len(chunk) >= CSV_CHUNK_ROWS:
            yield "".join(chunk).encode("utf-8")
            chunk = []
    if chunk:
        yield "".join(chunk).encode("utf-8")


def list_xlsx(columns: Iterable[str], rows: Iterator[list[Any]] | list[list[Any]], title: str = "Konsultasi") -> bytes:
    """The consultation list as a workbook (run it in a thread: a big list takes seconds of CPU)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31])
    ws.append(_bold(ws, columns))
    for row in rows:
        ws.append([_cell(v) for v in row])
    return _save(wb)
