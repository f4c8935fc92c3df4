"""The rows of a .tsv or .csv data file, one row per line, each with the line it came from.

.tsv: a tab separates the fields and a newline ends the row; quotes are text like any other.
.csv: RFC 4180 quoting (Python's csv module, strict). A quoted field may hold commas and doubled
      quotes but not a line break: a text is one line, so a quote that runs past the end of its
      line is an error naming the line where it opened and the line where it closed.
Either starts with a header naming the columns `text` and `label` (any order, any case), or has
no header and one column that is clearly the label (`_headerless_columns`).
"""

import csv
import io
import logging
from pathlib import Path

from exporter.errors import UserError

log = logging.getLogger("dynaedge")

HEADER = ("label", "text")     # sorted
MAX_HEADERLESS_LABELS = 10     # a headerless label column holds at most this many distinct values,
HEADERLESS_ROWS_PER_LABEL = 4  # and at least this many rows per distinct value (rows >= 4 x values)


def split_lines(text: str) -> list[str]:
    """The lines as written: split at '\\n' only, without the '\\r' of a CRLF line end."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def is_blank(line: str) -> bool:
    return not line.strip()


def read_rows(path: Path, text: str, delimiter: str) -> tuple[list[tuple[int, str, str]], int | None]:
    """(line number, text, label) per data line, and the header's line number (None without one)."""
    lines = split_lines(text)
    cells = _tsv_cells(lines) if delimiter == "\t" else _csv_cells(path, text, lines)
    if not cells:
        return [], None
    first_line, first = cells[0]
    if len(first) == 2 and sorted(c.strip().lower() for c in first) == list(HEADER):
        names = [c.strip().lower() for c in first]
        header, cells = first_line, cells[1:]
        _check_widths(path, cells, delimiter)
        ti, li = names.index("text"), names.index("label")
    else:
        header = None
        if len(first) != 2:
            raise UserError(f"{path}: line {first_line}: {_found(first, delimiter)}; {_layouts(delimiter)}")
        _check_widths(path, cells, delimiter)
        ti, li = _headerless_columns(path, cells, delimiter)
    return [(number, row[ti], row[li]) for number, row in cells], header


def _tsv_cells(lines: list[str]) -> list[tuple[int, list[str]]]:
    return [(number, line.split("\t")) for number, line in enumerate(lines, 1) if not is_blank(line)]


def _csv_cells(path: Path, text: str, lines: list[str]) -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline="\n"), strict=True)
    rows, start = [], 1
    try:
        for row in reader:
            if reader.line_num > start:
                raise UserError(f"{path}: line {start}: a quoted field opens on line {start} and closes on "
                                f"line {reader.line_num}; a text must fit on one line (a stray or undoubled "
                                f"quote? inside quotes write \"\" for one quote)")
            if not is_blank(lines[start - 1]):
                rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as err:
        if "unexpected end of data" in str(err):
            raise UserError(f"{path}: line {start}: a quote opens here and is never closed "
                            f"(the file ends on line {len(lines)})") from None
        raise UserError(f"{path}: line {reader.line_num}: malformed CSV ({err}); a field holding a comma "
                        "or a quote is wrapped in double quotes, and a quote inside it is written \"\"") from None
    return rows


def _check_widths(path: Path, cells, delimiter: str) -> None:
    for number, row in cells:
        if len(row) != 2:
            raise UserError(f"{path}: line {number}: {_found(row, delimiter)}")


def _found(row: list[str], delimiter: str) -> str:
    found = f"expected 2 fields (text and label), found {len(row)}"
    if delimiter == "\t" and len(row) != 2:
        return found + (" (a tab inside the text?)" if len(row) > 2 else " (no tab on this line)")
    if len(row) == 1 and "\t" in row[0]:
        return found + " (tab-separated? name the file .tsv)"
    return found


def _layouts(delimiter: str) -> str:
    sep = "<TAB>" if delimiter == "\t" else delimiter
    return (f"accepted layouts: a header line text{sep}label (or label{sep}text) above the rows; or no header, "
            f"rows label{sep}text or text{sep}label where the label column holds at most "
            f"{MAX_HEADERLESS_LABELS} distinct values, with at least {HEADERLESS_ROWS_PER_LABEL} rows per value")


def _is_label_column(values: list[str]) -> bool:
    distinct = {v.strip() for v in values}
    return len(distinct) <= MAX_HEADERLESS_LABELS and len(distinct) * HEADERLESS_ROWS_PER_LABEL <= len(values)


def _headerless_columns(path: Path, cells, delimiter: str) -> tuple[int, int]:
    """(text column, label column) of a file without a header: the one column with few distinct values."""
    first_line, first = cells[0]
    label_like = [i for i in (0, 1) if _is_label_column([row[i] for _, row in cells])]
    if len(label_like) != 1:
        which = "both columns look like labels" if label_like else "neither column looks like a label"
        raise UserError(f"{path}: line {first_line} is not a header naming the columns text and label "
                        f"(found {first!r}), and {which}; {_layouts(delimiter)}")
    li = label_like[0]
    first_label = first[li].strip()
    if sum(row[li].strip() == first_label for _, row in cells) == 1:
        raise UserError(f"{path}: line {first_line} looks like a header ({first!r}: {first_label!r} is on no other "
                        f"row); name its columns text and label")
    sep = "<TAB>" if delimiter == "\t" else delimiter
    layout = f"label{sep}text" if li == 0 else f"text{sep}label"
    labels = sorted({row[li].strip() for _, row in cells})
    log.info("%s: no header line; read as %s (column %d holds the labels %s)", path, layout, li + 1,
             ", ".join(labels))
    return 1 - li, li
