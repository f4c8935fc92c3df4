"""The stratified split and the default movie-review source."""

from exporter.data.dataset import Example, make_task
from exporter.data.movie_reviews import parse_ground_truth


def test_split_is_stratified_seeded_and_disjoint():
    examples = [Example(f"s{i}", int(i % 3 == 0)) for i in range(1000)]
    a = make_task("t", "mem", ("n", "p"), examples, seed=7)
    b = make_task("t", "mem", ("n", "p"), examples, seed=7)
    c = make_task("t", "mem", ("n", "p"), examples, seed=8)
    assert a.sha256 == b.sha256 != c.sha256
    assert (len(a.train), len(a.dev), len(a.test)) == (800, 100, 100)
    texts = [set(e.text for e in part) for part in (a.train, a.dev, a.test)]
    assert not (texts[0] & texts[1] or texts[0] & texts[2] or texts[1] & texts[2])
    for part in (a.dev, a.test):
        share = sum(e.label for e in part) / len(part)
        assert abs(share - 1 / 3) < 0.01, f"class share {share:.3f} in a split, 0.334 overall"


def test_ground_truth_parsing_drops_zero_ratings():
    text = "1\t2.5\tgreat film\r\n2\t-0.6\tdull\r\n3\t0.0\tneutral\r\n"
    assert parse_ground_truth(text) == [Example("great film", 1), Example("dull", 0)]


def test_default_movie_reviews_counts():
    from exporter.data.sources import load_task
    task = load_task(None)
    total = len(task.train) + len(task.dev) + len(task.test)
    assert total == 10605 - 37, "10,605 sentences, 37 with rating 0 dropped"
    assert task.label_names == ("negative", "positive")
