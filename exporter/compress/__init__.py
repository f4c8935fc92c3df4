"""Train-side compression: fine-tuning, distillation, DynaBERT slicing, quantization-aware training."""
