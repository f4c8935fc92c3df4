"""User data files: .tsv / .csv (exporter/data/delimited.py) or .jsonl with {"text", "label"} per line.

Every data line is one example. Texts are kept exactly as written (only a CRLF file's '\\r' goes);
labels lose surrounding spaces. After reading, the examples are checked against the lines they
came from, so a reader that merged or skipped lines fails loudly instead of training on them.
Every problem names the file and the line, so a user can fix it without guessing.
"""

import json
import re
from pathlib import Path

from exporter.data.dataset import Example, check_examples
from exporter.data.delimited import is_blank, read_rows, split_lines
from exporter.errors import UserError, unknown_choice

FORMATS = {".csv": ",", ".tsv": "\t", ".jsonl": None}


def _decode(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        raise UserError(f"{path}: line {line} is not UTF-8 (byte 0x{raw[err.start]:02x} at offset "
                        f"{err.start}); re-save the file as UTF-8") from None


def _rows_jsonl(path: Path, lines: list[str]):
    rows = []
    for number, line in enumerate(lines, 1):
        if is_blank(line):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise UserError(f"{path}: line {number}: not valid JSON ({err.msg})") from None
        if not isinstance(obj, dict) or "text" not in obj or "label" not in obj:
            raise UserError(f"{path}: line {number}: expected an object with 'text' and 'label'")
        rows.append((number, obj["text"], obj["label"]))
    return rows


def read_labelled_file(path: Path) -> tuple[list[Example], tuple[str, ...]]:
    """Examples with labels mapped to 0..n-1 in sorted label order, and the label names."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"data file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise unknown_choice("data file type", suffix or path.name, FORMATS)
    text = _decode(path)
    lines = split_lines(text)
    if suffix == ".jsonl":
        rows, header = _rows_jsonl(path, lines), None
    else:
        rows, header = read_rows(path, text, FORMATS[suffix])
    raw = [(number, sentence, "" if label is None else str(label).strip()) for number, sentence, label in rows]
    names = tuple(sorted({label for _, _, label in raw if label}, key=_label_key))
    for number, sentence, label in raw:
        if not label:
            raise UserError(f"{path}: line {number}: empty label")
        check_text(path, number, sentence, names)
    data_lines = [n for n, line in enumerate(lines, 1) if n != header and not is_blank(line)]
    check_one_example_per_line(path, data_lines, [number for number, _, _ in raw])
    index = {name: i for i, name in enumerate(names)}
    examples = [Example(sentence, index[label]) for _, sentence, label in raw]
    check_examples(examples, str(path))
    return examples, names


def check_text(path: Path, number: int, text, labels: tuple[str, ...]) -> None:
    """One example is one line of text: not empty, no tab, no line break."""
    if not isinstance(text, str):
        raise UserError(f"{path}: line {number}: the text must be a string, found {text!r}")
    if not text.strip():
        raise UserError(f"{path}: line {number}: empty text")
    merged = re.search(r"\t([^\t\n\r]*)[\r\n]*$", text)
    if merged and merged.group(1).strip() in labels:
        raise UserError(f"{path}: line {number}: the text ends in '<TAB>{merged.group(1).strip()}', a label: "
                        "several rows read as one? (check the quotes on this line)")
    for char, name in (("\t", "a tab"), ("\n", "a line break"), ("\r", "a carriage return")):
        if char in text:
            raise UserError(f"{path}: line {number}: the text contains {name}; an example is one line "
                            "of text (replace it with a space)")


def check_one_example_per_line(path: Path, data_lines: list[int], example_lines: list[int]) -> None:
    """The examples came one from each data line (not the header, not a blank line), in order."""
    if data_lines == example_lines:
        return
    diverge = next((d for d, e in zip(data_lines, example_lines) if d != e),
                   data_lines[len(example_lines)] if len(data_lines) > len(example_lines)
                   else example_lines[len(data_lines)])
    raise UserError(f"{path}: line {diverge}: {len(example_lines)} examples read from {len(data_lines)} data "
                    f"lines; examples and lines diverge from line {diverge} on")


def _label_key(label: str):
    # Numeric labels sort numerically ("2" after "10" would surprise), others alphabetically.
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)
