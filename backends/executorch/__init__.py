"""ExecuTorch: XNNPACK fp32/int8 lowering, and the custom ternary delegate in ternary/."""
