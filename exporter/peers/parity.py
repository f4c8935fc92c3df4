"""A peer's logits against the teacher's on real sentences, in the peer's own runtime: numbers a
bench row carries, so a fast peer that computes something else would show."""

import numpy as np

SENTENCES = 64          # dev sentences compared per peer (its dev accuracy covers all of them)
MIN_FP32_SQNR_DB = 60.0  # an fp32 peer is the same function: only float rounding may differ


def teacher_logits(teacher, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return teacher.eval()(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()


def peer_parity(path, reference: np.ndarray, ids: np.ndarray, mask: np.ndarray, threads: int) -> dict:
    """{sentences, max_abs_diff, sqnr_db (None: identical), label_agreement} of the file at `path`,
    run one sentence at a time as the bench does, against `reference` logits on the same sentences."""
    from exporter.bench_timing import load_runner
    from exporter.verify import run_runner, sqnr_db

    test = run_runner(load_runner(path, threads), ids, mask, desc=f"parity {path.name}")
    sqnr = sqnr_db(reference, test)
    return {"sentences": len(ids), "max_abs_diff": float(np.abs(reference - test).max()),
            "sqnr_db": None if sqnr == float("inf") else round(sqnr, 2),
            "label_agreement": float((reference.argmax(-1) == test.argmax(-1)).mean())}


def check_same_function(name: str, parity: dict) -> None:
    """An fp32 peer must compute the teacher's function: a lower SQNR is a bug in its export."""
    if parity["sqnr_db"] is not None and parity["sqnr_db"] < MIN_FP32_SQNR_DB:
        raise RuntimeError(f"{name}: logits differ from the teacher's (SQNR {parity['sqnr_db']} dB < "
                           f"{MIN_FP32_SQNR_DB} dB, max abs diff {parity['max_abs_diff']:.3g} over "
                           f"{parity['sentences']} sentences); its export is not the teacher's function")
