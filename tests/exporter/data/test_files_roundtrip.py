"""Property: texts with any quotes, apostrophes, unicode and surrounding spaces (no tab or line break)
read back exactly as written, each with its own label, from a .tsv and from a .csv written by Python's csv."""

import csv
import io
import tempfile
from pathlib import Path

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from exporter.data.files import read_labelled_file

LABELS = ["pos", "neg", '"mixed"', "it's ok", "4 stars"]
texts = st.text(st.characters(codec="utf-8", exclude_characters="\t\n\r"), min_size=1).filter(str.strip)
quotey = st.text(st.sampled_from(list("\"' ,;ab\u00e9\u2019\u201c ")), min_size=1).filter(str.strip)
rows = st.lists(st.tuples(st.one_of(texts, quotey), st.sampled_from(LABELS)), min_size=2, max_size=40)


def _read_back(name: str, content: str):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(content.encode())
        examples, names = read_labelled_file(path)
    return [(e.text, names[e.label]) for e in examples]


@settings(deadline=None)
@given(rows, st.sampled_from(["\n", "\r\n"]))
def test_tsv_reads_back_as_written(data, newline):
    assume(len({label for _, label in data}) > 1)
    content = f"text\tlabel{newline}" + "".join(f"{t}\t{label}{newline}" for t, label in data)
    assert _read_back("data.tsv", content) == data


@settings(deadline=None)
@given(rows, st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_csv_from_python_writer_reads_back_as_written(data, newline, label_first):
    assume(len({label for _, label in data}) > 1)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=newline)
    writer.writerow(["label", "text"] if label_first else ["text", "label"])
    writer.writerows([(label, t) if label_first else (t, label) for t, label in data])
    assert _read_back("data.csv", buf.getvalue()) == data
