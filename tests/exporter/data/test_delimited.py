"""Files without a header: read when one column is clearly the label (with a notice), refused otherwise."""

import logging

import pytest

from exporter.data.files import read_labelled_file
from exporter.errors import UserError

TEXTS = [f"sentence number {i}, \"quoted\" or not" for i in range(12)]


def _write(tmp_path, name, lines):
    p = tmp_path / name
    p.write_text("".join(line + "\n" for line in lines))
    return p


@pytest.mark.parametrize("name,label_first", [("a.tsv", True), ("b.tsv", False), ("c.csv", True)])
def test_headerless_layouts(tmp_path, caplog, name, label_first):
    sep = "\t" if name.endswith(".tsv") else ","
    rows = [(t, "pos" if i % 2 else "neg") for i, t in enumerate(TEXTS[:8])]
    cell = (lambda t: f'"{t.replace(chr(34), chr(34) * 2)}"') if sep == "," else (lambda t: t)
    lines = [f"{label}{sep}{cell(t)}" if label_first else f"{cell(t)}{sep}{label}" for t, label in rows]
    with caplog.at_level(logging.INFO, logger="dynaedge"):
        examples, names = read_labelled_file(_write(tmp_path, name, lines))
    assert [(e.text, names[e.label]) for e in examples] == rows
    shown = "<TAB>" if sep == "\t" else ","
    layout = f"label{shown}text" if label_first else f"text{shown}label"
    notices = [r.getMessage() for r in caplog.records]
    assert len(notices) == 1 and f"no header line; read as {layout}" in notices[0]


@pytest.mark.parametrize("rows,message", [
    ([(t, t) for t in TEXTS], "neither column looks like a label"),
    ([("a" if i % 2 else "b", "x" if i % 2 else "y") for i in range(12)], "both columns look like labels"),
    ([(t, str(i % 2)) for i, t in enumerate(TEXTS[:3])], "neither column looks like a label"),
    ([("sentence", "y")] + [(t, str(i % 2)) for i, t in enumerate(TEXTS)], r"line 1 looks like a header"),
])
def test_headerless_ambiguous_is_refused(tmp_path, rows, message):
    path = _write(tmp_path, "d.tsv", [f"{t}\t{label}" for t, label in rows])
    with pytest.raises(UserError, match=message) as err:
        read_labelled_file(path)
    if "column" in message:
        assert "accepted layouts: a header line text<TAB>label" in str(err.value)
