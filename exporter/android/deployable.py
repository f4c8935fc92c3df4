"""Can the phone's runtime load each .pte? Its operators and delegates against what the library registers.

    program_needs(pte_bytes) -> Needs(ops, delegates)
    check_deployable(file, needs, registered) -> list[str]      one line per missing op / delegate
    check_programs(paths, registered) -> DeployReport           raises UserError naming every problem

A .pte's execution plans list their operators as (name, overload), e.g. ("aten::add", "out"),
and their delegates by id ("XnnpackBackend"); executorch's own flatbuffer reader
(deserialize_pte_binary) reads them. ExecuTorch's Method looks an operator up as
"name.overload" ("name" when the overload is empty) and fails to load on the first it lacks
("Missing operator: aten::sort.values"), or on a delegate id no backend registered: on the
phone that is a crash at start-up, so `dynaedge android build` refuses such a bundle first.
What the library registers comes from exporter.android.registry.
"""

from dataclasses import dataclass
from pathlib import Path

from exporter.android.registry import Registered
from exporter.errors import UserError


@dataclass(frozen=True)
class Needs:
    ops: frozenset[str]  # "aten::add.out", as the runtime looks it up
    delegates: frozenset[str]  # "XnnpackBackend"


@dataclass(frozen=True)
class FileCheck:
    file: str
    ops_checked: int
    delegates_checked: tuple[str, ...]


@dataclass(frozen=True)
class DeployReport:
    library: str
    ops_registered: int
    delegates_registered: tuple[str, ...]
    files: tuple[FileCheck, ...]


def program_needs(pte: bytes, name: str = "program") -> Needs:
    """Every operator (name.overload) and delegate id any execution plan of the program uses."""
    from executorch.exir._serialize._program import deserialize_pte_binary

    try:
        program = deserialize_pte_binary(pte).program
    except Exception as err:  # a truncated or foreign file: flatbuffers raises assorted errors
        raise UserError(f"{name}: not an ExecuTorch program executorch can read "
                        f"({type(err).__name__}: {str(err)[:200]})") from err
    ops = {f"{op.name}.{op.overload}" if op.overload else op.name
           for plan in program.execution_plan for op in plan.operators}
    delegates = {d.id for plan in program.execution_plan for d in plan.delegates}
    return Needs(ops=frozenset(ops), delegates=frozenset(delegates))


def _offered(op: str, registered: Registered) -> str:
    base = op.split(".")[0]
    overloads = sorted(r.split(".", 1)[1] for r in registered.ops if r.startswith(base + "."))
    if overloads:
        return f"registered overloads of {base}: {', '.join(overloads)}"
    return f"it registers no {base} kernel (of {len(registered.ops)} operators)"


def check_deployable(file: str, needs: Needs, registered: Registered) -> list[str]:
    """One line per operator or delegate the program needs and the library lacks."""
    problems = [f"{file} needs operator {op}, which {registered.library} does not register; "
                f"{_offered(op, registered)}" for op in sorted(needs.ops - registered.ops)]
    offered = ", ".join(sorted(registered.delegates)) or "none"
    problems += [f"{file} needs delegate {d}, which {registered.library} does not register; "
                 f"registered delegates: {offered}" for d in sorted(needs.delegates - registered.delegates)]
    return problems


def check_programs(paths: tuple[Path, ...], registered: Registered) -> DeployReport:
    """Check every .pte among `paths`; a UserError lists every missing operator and delegate."""
    files, problems, refused = [], [], 0
    for path in (Path(p) for p in paths if Path(p).suffix == ".pte"):
        needs = program_needs(path.read_bytes(), path.name)
        found = check_deployable(path.name, needs, registered)
        problems, refused = problems + found, refused + bool(found)
        files.append(FileCheck(path.name, len(needs.ops), tuple(sorted(needs.delegates))))
    if problems:
        raise UserError(f"the phone's runtime cannot load {refused} of {len(files)} .pte file(s): "
                        + "; ".join(problems) + "; drop them from the bundle or export them with only "
                        "what this runtime registers")
    return DeployReport(library=registered.library, ops_registered=len(registered.ops),
                        delegates_registered=tuple(sorted(registered.delegates)), files=tuple(files))
