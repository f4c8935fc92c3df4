"""Parity numbers and the per-gate thresholds that decide whether an artifact ships."""

import json

import numpy as np
import pytest

from exporter.verify import THRESHOLDS, Parity, compare, sqnr_db


def _noisy(reference: np.ndarray, target_db: float, seed: int = 0) -> np.ndarray:
    """reference plus white noise scaled to exactly target_db SQNR."""
    noise = np.random.default_rng(seed).standard_normal(reference.shape)
    scale = np.sqrt(np.sum(reference ** 2) / (np.sum(noise ** 2) * 10 ** (target_db / 10)))
    return reference + scale * noise


@pytest.fixture
def logits():
    rng = np.random.default_rng(1)
    return rng.standard_normal((400, 2)) * 3.0


def test_sqnr_measures_the_noise_it_is_given(logits):
    for db in (20.0, 29.0, 45.0):
        measured = sqnr_db(logits, _noisy(logits, db))
        print(f"target {db} dB -> measured {measured:.6f} dB")
        assert measured == pytest.approx(db, abs=1e-6)
    assert sqnr_db(logits, logits.copy()) == float("inf")


def test_identical_outputs_serialise_as_null_sqnr(logits):
    labels = logits.argmax(-1)
    parity = compare(logits, logits.copy(), labels)
    record = parity.to_dict()
    assert record["sqnr_db"] is None and record["max_abs_diff"] == 0.0
    assert record["label_agreement"] == 1.0 and record["dev_accuracy"] == 1.0
    json.dumps(record)  # inf would make this invalid JSON for strict readers; None does not
    assert THRESHOLDS["fp32"].failures(parity) == []


def _parity(sqnr: float, accuracy: float, reference_accuracy: float = 0.823) -> Parity:
    return Parity(sqnr_db=sqnr, max_abs_diff=0.1, label_agreement=0.99, dev_accuracy=accuracy,
                  reference_accuracy=reference_accuracy, n_sentences=1000)


def test_litert_ternary_gate_accepts_litert_float_noise_but_not_more():
    gate = THRESHOLDS["ternary-litert"]
    # 29 dB is what LiteRT's stock graph of a ternary model measures against PyTorch.
    assert gate.failures(_parity(29.0, 0.822)) == []
    assert gate.failures(_parity(29.0, 0.8215)) == []  # 0.15 point drop
    low = gate.failures(_parity(24.0, 0.823))
    assert len(low) == 1 and "SQNR 24.0 dB < 25 dB" in low[0]
    drop = gate.failures(_parity(29.0, 0.818))
    assert len(drop) == 1 and "0.50 points below" in drop[0] and "allowed 0.2" in drop[0]


def test_pte_ternary_gate_stays_strict():
    # The ExecuTorch ternary kernel reaches ~39 dB; 29 dB there would mean a kernel bug.
    assert THRESHOLDS["ternary"].failures(_parity(39.3, 0.823)) == []
    assert THRESHOLDS["ternary"].failures(_parity(29.0, 0.823)) != []


def test_int8_gate_is_about_accuracy_only():
    gate = THRESHOLDS["int8"]
    assert gate.failures(_parity(15.0, 0.860, reference_accuracy=0.867)) == []
    fails = gate.failures(_parity(40.0, 0.850, reference_accuracy=0.867))
    assert len(fails) == 1 and "1.70 points below" in fails[0]


def test_fp32_gate_rejects_a_flipped_label(logits):
    labels = logits.argmax(-1)
    flipped = logits.copy()
    flipped[0] = flipped[0][::-1] if flipped[0, 0] != flipped[0, 1] else flipped[0] + [1.0, 0.0]
    fails = THRESHOLDS["fp32"].failures(compare(logits, flipped, labels))
    print(fails)
    assert any("label agreement" in f for f in fails)
