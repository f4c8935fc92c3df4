"""User data files: .csv / .tsv with a `text,label` header, or .jsonl with {"text", "label"}.

Every problem names the file and the line, so a user can fix it without guessing.
"""

import csv
import io
import json
from pathlib import Path

from exporter.data.dataset import Example, check_examples
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


def _rows_delimited(path: Path, text: str, delimiter: str):
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        return
    names = [h.strip().lower() for h in header]
    if "text" not in names or "label" not in names:
        raise UserError(f"{path}: line 1 must be a header naming the columns 'text' and 'label' "
                        f"(found {header!r})")
    ti, li = names.index("text"), names.index("label")
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(names):
            raise UserError(f"{path}: line {reader.line_num}: expected {len(names)} fields, found {len(row)}")
        yield reader.line_num, row[ti], row[li]


def _rows_jsonl(path: Path, text: str):
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise UserError(f"{path}: line {number}: not valid JSON ({err.msg})") from None
        if not isinstance(obj, dict) or "text" not in obj or "label" not in obj:
            raise UserError(f"{path}: line {number}: expected an object with 'text' and 'label'")
        yield number, obj["text"], obj["label"]


def read_labelled_file(path: Path) -> tuple[list[Example], tuple[str, ...]]:
    """Examples with labels mapped to 0..n-1 in sorted label order, and the label names."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"data file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise unknown_choice("data file type", suffix or path.name, FORMATS)
    text = _decode(path)
    rows = _rows_jsonl(path, text) if suffix == ".jsonl" else _rows_delimited(path, text, FORMATS[suffix])
    raw = []
    for number, sentence, label in rows:
        if not isinstance(sentence, str) or not sentence.strip():
            raise UserError(f"{path}: line {number}: empty text")
        if label is None or str(label).strip() == "":
            raise UserError(f"{path}: line {number}: empty label")
        raw.append((sentence.strip(), str(label).strip()))
    names = tuple(sorted({label for _, label in raw}, key=_label_key))
    index = {name: i for i, name in enumerate(names)}
    examples = [Example(sentence, index[label]) for sentence, label in raw]
    check_examples(examples, str(path))
    return examples, names


def _label_key(label: str):
    # Numeric labels sort numerically ("2" after "10" would surprise), others alphabetically.
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)
