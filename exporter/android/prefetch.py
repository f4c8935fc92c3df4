"""`python -m exporter.android.prefetch`: fetch and verify the offline APK build's inputs now.

For `make install`: afterwards `dynaedge android build` needs no network. It checks the
bookworm tools (aapt, zipalign, apksigner, JDK), fetches bullseye's android.jar and dx and
npm's ExecuTorch runtime into ~/.cache/dynaedge, verifying every pinned sha256.
"""

import sys

from exporter.android.runtime import ensure_runtime
from exporter.android.toolchain import ensure_toolchain
from exporter.errors import UserError


def prefetch() -> None:
    tools = ensure_toolchain()
    runtime = ensure_runtime()
    print(f"android toolchain ok: {tools.android_jar.name}, {tools.dx_jar.name}; runtime ok: "
          f"{', '.join(runtime.versions)}", file=sys.stderr)


if __name__ == "__main__":
    try:
        prefetch()
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
