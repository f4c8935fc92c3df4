"""Encoder hyper-parameters, read from a Hugging Face config.json."""

from dataclasses import asdict, dataclass

from exporter.errors import UserError

SUPPORTED_ARCHITECTURES = ("BertModel", "BertForSequenceClassification", "BertForMaskedLM", "BertForPreTraining")
SUPPORTED_MODEL_TYPES = ("bert",)


@dataclass(frozen=True)
class EncoderConfig:
    vocab_size: int = 30522
    hidden: int = 384
    layers: int = 6
    heads: int = 12
    ffn: int = 1536
    max_positions: int = 512
    type_vocab: int = 2
    layer_norm_eps: float = 1e-12
    num_labels: int = 2
    dropout: float = 0.1

    def __post_init__(self):
        if self.hidden % self.heads:
            raise UserError(f"hidden size {self.hidden} is not divisible by {self.heads} attention heads")

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "EncoderConfig":
        return cls(**d)

    @classmethod
    def from_hf(cls, cfg: dict, num_labels: int = 2, where: str = "config.json") -> "EncoderConfig":
        model_type = cfg.get("model_type")
        archs = cfg.get("architectures") or []
        if model_type not in SUPPORTED_MODEL_TYPES or (archs and archs[0] not in SUPPORTED_ARCHITECTURES):
            found = archs[0] if archs else model_type
            raise UserError(f"{where}: architecture {found!r} is not supported; supported: "
                            f"{', '.join(SUPPORTED_ARCHITECTURES)} (model_type 'bert')")
        if cfg.get("hidden_act", "gelu") != "gelu":
            raise UserError(f"{where}: hidden_act {cfg['hidden_act']!r} is not supported; only 'gelu'")
        if cfg.get("position_embedding_type", "absolute") != "absolute":
            raise UserError(f"{where}: position_embedding_type {cfg['position_embedding_type']!r} "
                            "is not supported; only 'absolute'")
        return cls(vocab_size=cfg["vocab_size"], hidden=cfg["hidden_size"], layers=cfg["num_hidden_layers"],
                   heads=cfg["num_attention_heads"], ffn=cfg["intermediate_size"],
                   max_positions=cfg["max_position_embeddings"], type_vocab=cfg.get("type_vocab_size", 2),
                   layer_norm_eps=cfg.get("layer_norm_eps", 1e-12), num_labels=num_labels,
                   dropout=cfg.get("hidden_dropout_prob", 0.1))
