"""Ternary Linear layers on TFLite: the DYNAEDGE_TERNARY_FC custom op, its kernel and fallbacks."""
