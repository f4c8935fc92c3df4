"""User data files: formats, and a clear error with a line number for each kind of bad input."""

import pytest

from exporter.data.files import read_labelled_file
from exporter.errors import UserError


def _write(tmp_path, name, content):
    p = tmp_path / name
    p.write_bytes(content if isinstance(content, bytes) else content.encode())
    return p


def test_csv_tsv_jsonl(tmp_path):
    csv = _write(tmp_path, "a.csv", 'text,label\n"good, really",pos\nbad,neg\n')
    tsv = _write(tmp_path, "a.tsv", "label\ttext\n1\tgood\n0\tbad\n")
    jsonl = _write(tmp_path, "a.jsonl", '{"text": "good", "label": 1}\n\n{"text": "bad", "label": 0}\n')
    ex, names = read_labelled_file(csv)
    assert names == ("neg", "pos") and ex[0].text == "good, really" and ex[0].label == 1
    ex, names = read_labelled_file(tsv)
    assert names == ("0", "1") and [e.label for e in ex] == [1, 0]
    ex, names = read_labelled_file(jsonl)
    assert len(ex) == 2 and names == ("0", "1")


@pytest.mark.parametrize("name,content,message", [
    ("e.csv", "", "no examples"),
    ("h.csv", "text,label\n", "no examples"),
    ("one.csv", "text,label\na,1\nb,1\n", "only one class"),
    ("hdr.csv", "sentence,y\na,1\n", "line 1 must be a header"),
    ("fields.csv", "text,label\na,1\nb,0,extra\n", "line 3: expected 2 fields, found 3"),
    ("empty.tsv", "text\tlabel\na\t1\n \t0\n", "line 3: empty text"),
    ("nolabel.tsv", "text\tlabel\na\t1\nb\t\n", "line 3: empty label"),
    ("bad.jsonl", '{"text": "a", "label": 1}\n{"text": "b", "label": 0\n', "line 2: not valid JSON"),
    ("keys.jsonl", '{"text": "a", "label": 1}\n{"sentence": "b"}\n', "line 2: expected an object"),
    ("latin1.csv", b"text,label\ngood,1\ncaf\xe9,0\n", "line 3 is not UTF-8"),
    ("x.txt", "text,label\n", "unknown data file type '.txt'; choose one of: .csv, .jsonl, .tsv"),
])
def test_bad_files(tmp_path, name, content, message):
    with pytest.raises(UserError, match=message):
        read_labelled_file(_write(tmp_path, name, content))


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        read_labelled_file(tmp_path / "missing.csv")
