"""Deployability: every .pte's operators and delegates against what the phone's libexecutorch.so registers.

The library comes from `make android-deps` (react-native-executorch 0.8.4, cached; fetched
with npm if missing, as the APK tests do: never skipped). The reader is first checked against
ground truth: on executorch 1.5.1's own x86 libraries it must find what that runtime reports
registering. Programs are tiny real .pte files (tiny_programs.py) and the tiny encoder lowered
by our ExecuTorch backend for each variant the stock runtime runs.
"""

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from android_fake_bundle import make_fake_bundle
from exporter.android import build_apk
from exporter.android.deployable import Needs, check_deployable, check_programs, program_needs
from exporter.android.registry import Registered, runtime_registry
from exporter.android.runtime import ensure_runtime
from exporter.errors import UserError
from tiny_programs import sort_program, with_delegate_id, xnnpack_program

TERNARY_ID = "DynaedgeTernaryBackend"
LABEL = "libexecutorch.so (react-native-executorch 0.8.4)"


@pytest.fixture(scope="module")
def phone() -> Registered:
    lib = next(p for p in ensure_runtime().native_libs if p.name == "libexecutorch.so")
    return runtime_registry(lib, LABEL)


def test_phone_library_registrations(phone):
    by_namespace = Counter(op.split("::")[0] for op in phone.ops)
    print(f"\n{len(phone.ops)} operators {dict(sorted(by_namespace.items()))}; delegates {sorted(phone.delegates)}")
    assert by_namespace["aten"] == 207  # what `strings -n4 libexecutorch.so | grep -c '^aten::'` counts
    assert {"aten::embedding.out", "aten::native_layer_norm.out", "aten::sym_size.int", "aten::copy_",
            "quantized_decomposed::dequantize_per_tensor.out", "quantized_decomposed::embedding_byte.out",
            "dim_order_ops::_to_dim_order_copy.out"} <= phone.ops
    assert not any(op.startswith("std::") for op in phone.ops)
    assert phone.delegates == {"XnnpackBackend"}


def test_reader_matches_host_runtime():
    """On executorch's own x86 libraries the reader finds what that runtime says it registers."""
    from backends.executorch.ternary.partitioner import BACKEND_ID
    import executorch.kernels.quantized  # noqa: F401  registers the quantized kernels with the runtime
    from executorch.extension.pybindings import portable_lib

    libs = sorted((Path(portable_lib.__file__).parents[2] / "lib").glob("libexecutorch*.so"))
    ops = set().union(*(runtime_registry(lib).ops for lib in libs))
    delegates = set().union(*(runtime_registry(lib).delegates for lib in libs))
    truth = set(portable_lib._get_operator_names())
    # kernels quote their own name in messages; these two helpers are compiled in, never registered
    quoted_only = {"quantized_decomposed::embedding_xbit.out", "quantized_decomposed::embedding_xbit.dtype_out"}
    print(f"\n{len(libs)} host libraries: {len(ops)} names found, runtime registers {len(truth)}")
    assert truth <= ops, f"registered but not found: {sorted(truth - ops)}"
    assert ops - truth <= quoted_only, f"found but not registered: {sorted(ops - truth - quoted_only)}"
    # our own ternary delegate lives in its own library; earlier tests may have registered it
    registered = set(portable_lib._get_registered_backend_names()) - {BACKEND_ID}
    assert delegates == registered


def test_tiny_program_passes(phone):
    needs = program_needs(xnnpack_program())
    print(f"\ntiny program needs {sorted(needs.ops)} + {sorted(needs.delegates)}")
    assert needs.delegates == {"XnnpackBackend"} and "aten::embedding.out" in needs.ops
    assert check_deployable("tiny.pte", needs, phone) == []


def test_missing_operator_is_named(phone):
    needs = program_needs(sort_program())
    assert needs.ops == {"aten::sort.values"}  # out-variant name.overload, as the runtime looks it up
    assert check_deployable("sort.pte", needs, phone) == [
        f"sort.pte needs operator aten::sort.values, which {LABEL} does not register; "
        f"it registers no aten::sort kernel (of {len(phone.ops)} operators)"]


def test_missing_overload_lists_the_registered_ones(phone):
    problems = check_deployable("max.pte", Needs(frozenset({"aten::max.out"}), frozenset()), phone)
    assert problems == [f"max.pte needs operator aten::max.out, which {LABEL} does not register; "
                        f"registered overloads of aten::max: dim_max, unary_out"]


def test_unknown_delegate_is_named(phone):
    needs = program_needs(with_delegate_id(xnnpack_program(), TERNARY_ID))
    assert check_deployable("w1-d1-ternary.pte", needs, phone) == [
        f"w1-d1-ternary.pte needs delegate {TERNARY_ID}, which {LABEL} does not register; "
        f"registered delegates: XnnpackBackend"]


def test_unreadable_program_is_a_user_error():
    with pytest.raises(UserError, match=r"junk.pte: not an ExecuTorch program"):
        program_needs(b"\x1c\0\0\0ET12" + b"junk" * 64, "junk.pte")


@pytest.mark.parametrize("program, named", [(sort_program, "operator aten::sort.values"),
                                            (lambda: with_delegate_id(xnnpack_program(), TERNARY_ID),
                                             f"delegate {TERNARY_ID}")])
def test_build_refuses_before_packing(tmp_path, program, named):
    bundle = make_fake_bundle(tmp_path / "bundle", program())
    with pytest.raises(UserError) as err:
        build_apk(bundle, tmp_path / "out" / "demo.apk")
    message = str(err.value)
    print(f"\n{message}")
    assert "\n" not in message and message.startswith("the phone's runtime cannot load 2 of 2 .pte file(s)")
    assert f"encoder_w1.0_d1.0_int8.pte needs {named}, which {LABEL} does not register" in message
    assert not (tmp_path / "out" / "demo.apk").exists()


@pytest.fixture(scope="module")
def encoder_files(tmp_path_factory) -> tuple[Path, ...]:
    """The tiny encoder lowered for every ExecuTorch variant the stock runtime runs (fp32, fp32-emb8, int8
    static/dynamic, mixed precision: a random fixed bit map)."""
    import torch

    from backends.base import LowerSpec
    from backends.executorch.backend import ExecuTorchBackend
    from backends.executorch.variants import VARIANTS
    from backends.variant import RUNTIMES
    from exporter.compress.freeze_mixed import freeze_mixed
    from exporter.model.encoder import Encoder
    from tests.conftest import TINY
    from tests.exporter.compress.test_mixed import _random_fixed

    torch.manual_seed(0)
    model = Encoder(TINY).eval()
    ids = np.random.default_rng(0).integers(5, TINY.vocab_size, (4, 16)).astype(np.int32)
    out = tmp_path_factory.mktemp("encoder")
    files = []
    for v in (v for v in VARIANTS if not RUNTIMES[v.runtime].custom and v.precision != "ternary"):
        path = out / f"tiny-{v.precision}{'-' + v.tag if v.tag else ''}.pte"
        source = freeze_mixed(_random_fixed(model)) if v.precision == "mixed" else model
        path.write_bytes(ExecuTorchBackend().lower(source, LowerSpec(v.precision, 16, ids, np.ones_like(ids),
                                                                     v.options)).data)
        files.append(path)
    return tuple(files)


def test_encoder_programs_pass(encoder_files, phone):
    report = check_programs(encoder_files, phone)
    for f in report.files:
        print(f"\n{f.file}: {f.ops_checked} operators, delegates {f.delegates_checked}")
    assert [f.file for f in report.files] == [p.name for p in encoder_files] and len(encoder_files) == 5
    assert all(f.ops_checked > 0 and f.delegates_checked == ("XnnpackBackend",) for f in report.files)
    assert (report.ops_registered, report.delegates_registered) == (len(phone.ops), ("XnnpackBackend",))
