"""User data files: formats, one example per line, and a clear error with a line number for each bad input."""

import re
import subprocess
import sys

import pytest

from exporter.data.files import check_one_example_per_line, read_labelled_file
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


def test_issue_25_quotes_in_a_tsv_are_text(tmp_path):
    """A leading quote used to open a CSV-quoted field that swallowed the following lines."""
    rows = [('"Great" value for the money', "pos"), ("Broke after a week", "neg"),
            ('"Meh', "neg"), ('It said "waterproof". It is not', "neg"), ("Works, as promised\"", "pos"),
            ('""', "pos"), ("'single' quotes too", "neg"), ('"', "pos")]
    path = _write(tmp_path, "reviews.tsv", "text\tlabel\n" + "".join(f"{t}\t{l}\n" for t, l in rows))
    examples, names = read_labelled_file(path)
    assert [(e.text, names[e.label]) for e in examples] == rows


def test_texts_are_kept_as_written_labels_stripped(tmp_path):
    path = _write(tmp_path, "crlf.tsv", "Text\tLABEL\r\n  padded text \t pos \r\nplain\tneg\r\n\r\n")
    examples, names = read_labelled_file(path)
    assert names == ("neg", "pos")
    assert [(e.text, e.label) for e in examples] == [("  padded text ", 1), ("plain", 0)]


@pytest.mark.parametrize("name,content,message", [
    ("e.csv", "", "no examples"),
    ("h.csv", "text,label\n", "no examples"),
    ("one.csv", "text,label\na,1\nb,1\n", "only one class"),
    ("hdr.csv", "sentence,y\na,1\n", "line 1 is not a header naming the columns text and label"),
    ("fields.csv", "text,label\na,1\nb,0,extra\n", "line 3: expected 2 fields (text and label), found 3"),
    ("extra.tsv", "id\ttext\tlabel\n1\ta\tpos\n", "line 1: expected 2 fields (text and label), found 3"),
    ("notab.tsv", "text\tlabel\na\t1\nbroken\nline\t0\n", "line 3: expected 2 fields (text and label), found 1 "
                                                          "(no tab on this line)"),
    ("tabs.csv", "text\tlabel\na\t1\nb\t0\n", "found 1 (tab-separated? name the file .tsv)"),
    ("empty.tsv", "text\tlabel\na\t1\n \t0\n", "line 3: empty text"),
    ("nolabel.tsv", "text\tlabel\na\t1\nb\t\n", "line 3: empty label"),
    ("cr.tsv", "text\tlabel\na\rb\t1\nc\t0\n", "line 2: the text contains a carriage return"),
    ("span.csv", 'text,label\n"Great product,pos\nBroke,neg\nfine",pos\nok,neg\n',
     "line 2: a quoted field opens on line 2 and closes on line 4"),
    ("open.csv", 'text,label\ngood,pos\n"bad,neg\n', "line 3: a quote opens here and is never closed"),
    ("stray.csv", 'text,label\n"Great" value,pos\nbad,neg\n', "line 2: malformed CSV"),
    ("tab.csv", 'text,label\n"a\tb",pos\nc,neg\n', "line 2: the text contains a tab"),
    ("merged.csv", 'text,label\n"a\tneg",pos\nc,neg\n', "line 2: the text ends in '<TAB>neg', a label"),
    ("bad.jsonl", '{"text": "a", "label": 1}\n{"text": "b", "label": 0\n', "line 2: not valid JSON"),
    ("keys.jsonl", '{"text": "a", "label": 1}\n{"sentence": "b"}\n', "line 2: expected an object"),
    ("nl.jsonl", '{"text": "a\\nb", "label": 1}\n{"text": "c", "label": 0}\n', "line 1: the text contains a line"),
    ("latin1.csv", b"text,label\ngood,1\ncaf\xe9,0\n", "line 3 is not UTF-8"),
    ("x.txt", "text,label\n", "unknown data file type '.txt'; choose one of: .csv, .jsonl, .tsv"),
])
def test_bad_files(tmp_path, name, content, message):
    with pytest.raises(UserError, match=re.escape(message)):
        read_labelled_file(_write(tmp_path, name, content))


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        read_labelled_file(tmp_path / "missing.csv")


@pytest.mark.parametrize("data_lines,example_lines,line", [
    ([2, 3, 5, 6], [2, 3, 6], 5),   # line 5 merged into another example or skipped
    ([2, 3], [2, 3, 4], 4),         # an example from a line that is not a data line
    ([2, 3, 4], [2, 3], 4),         # the last line lost
])
def test_examples_and_lines_must_match(data_lines, example_lines, line):
    check_one_example_per_line("f.tsv", data_lines, data_lines)
    with pytest.raises(UserError, match=f"f.tsv: line {line}: {len(example_lines)} examples read from "
                                        f"{len(data_lines)} data lines"):
        check_one_example_per_line("f.tsv", data_lines, example_lines)


def test_truncated_file_is_one_line_exit_2(tmp_path):
    cut = _write(tmp_path, "cut.tsv", "text\tlabel\ngood\tpos\nbad\tneg\nthe last line was cut he")
    done = subprocess.run([sys.executable, "-m", "exporter.cli", "train", "--data", str(cut)],
                          capture_output=True, text=True, timeout=600)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1, done.stderr[-2000:]
    assert lines[0].startswith(f"dynaedge: error: {cut}: line 4: expected 2 fields"), lines[0]
