"""ExecuTorch ternary delegate: 2-bit packed Linear weights, int8 activations.

Public API (heavy imports stay inside the modules that need them):
    TernaryPartitioner            partitioner.py  tags ternary Linears
    DynaedgeTernaryBackend        preprocess.py   packs them into blobs
    build_runtime, load_backend   build.py        builds/loads the C++ runtime
    count_delegated_ops           delegates.py    ops per delegate, for the manifest
    lower_ternary, run_pte        lowering.py     export + lower with XNNPACK; run a .pte
    twn_ternarize, pack_blob ...  blob.py         the blob format
"""
