"""User-facing errors: the CLI turns these into one line on stderr and exit code 2."""


class UserError(Exception):
    """A problem the user can fix: bad input, a missing file, an unknown choice.

    The message names the bad value and, where there is a fixed set, the valid choices.
    """


class ParityFailed(Exception):
    """An artifact missed its parity gate: not a bug and not bad input; the CLI prints one line
    naming each failure (exit code 1) and the bundle stays as it was."""


def unknown_choice(kind: str, value: object, choices) -> UserError:
    """`unknown target 'andriod'; choose one of: android, host, linux-arm64`."""
    listed = ", ".join(str(c) for c in sorted(choices))
    return UserError(f"unknown {kind} {value!r}; choose one of: {listed}")
