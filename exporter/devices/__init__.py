"""Device profiles (data), the latency model calibrated on the host, and the budget selector.

Layout: budget.py (parse "5ms"), profile.py (TOML profiles, user overrides), features.py
(work of a sub-network), fit.py (least-squares latency fit), latency.py (predict on a
device), calibrate.py (time real artifacts on the host), importer.py (phone benchmark JSON),
selector.py (pure choice), commands.py (what the CLI calls). Nothing here imports a runtime
at module level: `import exporter` stays light.
"""
