"""Runtimes dynaedge lowers to; each folder implements backends.base.Backend."""
