"""dynaedge's front: model, data, compression, device profiles, export pipeline, bundle, CLI.

Importing it loads nothing heavy (no executorch, tensorflow or litert_torch).
"""

__version__ = "0.1.0"
