"""The direction of dependencies in DESIGN.md, checked on the source."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(package: str) -> set[str]:
    found: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("surveys", "followups"),
        ("surveys", "nps"),
        ("followups", "nps"),
        # Care campaigns build on surveys and follow-ups; neither knows of them (surveys
        # reaches care's preferences only through a setting naming the function).
        ("surveys", "care"),
        ("followups", "care"),
        ("care", "devtools"),
        # The simulator is a development tool: the product never imports it.
        ("surveys", "devtools"),
        ("followups", "devtools"),
        ("nps", "devtools"),
    ],
)
def test_package_does_not_import(package: str, forbidden: str) -> None:
    offending = {m for m in imported_modules(package) if m.split(".")[0] == forbidden}
    assert offending == set()


def test_care_takes_from_nps_only_the_reporting_arithmetic() -> None:
    """The NPS formula and its variance have one home, nps.reporting.stats (with its
    contract): care's evaluation uses them; nothing else of nps, which will show care."""
    used = {m for m in imported_modules("care") if m.split(".")[0] == "nps"}
    assert used <= {"nps.reporting.stats", "nps.reporting.contract"}


@pytest.mark.parametrize("package", ["surveys", "followups", "nps/reporting"])
def test_nothing_below_the_dashboard_imports_it(package: str) -> None:
    # Figures are computed in nps.reporting; the dashboard, like the digest, only shows them.
    assert {m for m in imported_modules(package) if m.startswith("nps.dashboard")} == set()


CSV_WRITER = ROOT / "surveys" / "spreadsheets.py"
PROJECT_PACKAGES = ("surveys", "followups", "care", "nps", "bench")


def modules_importing_csv() -> set[str]:
    found = set()
    for package in PROJECT_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            for node in ast.walk(ast.parse(source)):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                if any(name.split(".")[0] == "csv" for name in names) or "text/csv" in source:
                    found.add(str(path.relative_to(ROOT)))
    return found


def test_every_csv_is_written_by_the_one_writer_that_neutralises_formulas() -> None:
    # A new export that calls csv.writer itself would let "=HYPERLINK(...)" through:
    # surveys/spreadsheets.py is the only module that may import csv or answer text/csv.
    assert modules_importing_csv() == {str(CSV_WRITER.relative_to(ROOT))}


def project_import_graph() -> dict[str, set[str]]:
    """Each project module and the project modules it imports, anywhere in its body
    (imports inside functions included; relative imports resolved)."""
    graph: dict[str, set[str]] = {}
    for package in ("surveys", "followups", "care", "nps", "devtools"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            module = ".".join(parts[:-1] if is_package else parts)
            here = parts[:-1]  # the package a relative import starts from
            found: set[str] = set()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom):
                    base = here[: len(here) - node.level + 1] if node.level else []
                    target = ".".join([*base, *(node.module.split(".") if node.module else [])])
                    found.add(target)
                    found.update(f"{target}.{alias.name}" for alias in node.names)
            graph[module] = found
    modules = set(graph)
    return {m: {i for i in imports if i in modules and i != m} for m, imports in graph.items()}


def test_no_two_modules_import_each_other() -> None:
    # Tasks call services; services queue work by task name (surveys.queue.task_queue),
    # never by importing a tasks module. A package's __init__ re-exporting its own
    # submodules is not a pair: the submodule then imports a sibling, not the package.
    graph = project_import_graph()
    pairs = {
        tuple(sorted((a, b)))
        for a, imports in graph.items()
        for b in imports
        if a in graph.get(b, set()) and not (a.startswith(b + ".") or b.startswith(a + "."))
    }
    assert pairs == set()


def test_services_never_import_a_tasks_module() -> None:
    graph = project_import_graph()
    offending = {
        (module, imported)
        for module, imports in graph.items()
        if not module.endswith(".tasks")
        for imported in imports
        if imported.endswith(".tasks")
    }
    assert offending == set()


CONSENT = "surveys/consent.py"
CONSENT_ROW_WRITES = {"create", "bulk_create", "get_or_create", "update_or_create"}


def consent_writes(node: ast.AST) -> bool:
    """Whether this node sets a customer's opt-out or writes a consent log row."""
    if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return any(
            isinstance(t, ast.Attribute) and t.attr == "opted_out_at"
            for target in targets
            for t in ast.walk(target)
        )
    if not isinstance(node, ast.Call):
        return False
    if any(k.arg == "opted_out_at" for k in node.keywords):  # update(), create(), a factory
        return True
    func = node.func
    named = [a.value for a in node.args if isinstance(a, ast.Constant)]
    if isinstance(func, ast.Name) and func.id == "setattr" and "opted_out_at" in named:
        return True
    fields = [k.value for k in node.keywords if k.arg == "update_fields"]
    if any("opted_out_at" in ast.unparse(f) for f in fields):
        return True
    if isinstance(func, ast.Name) and func.id == "ConsentChange":
        return True
    return isinstance(func, ast.Attribute) and (
        func.attr in CONSENT_ROW_WRITES and "ConsentChange" in ast.unparse(func.value)
    )


def test_only_the_consent_module_changes_a_customers_consent() -> None:
    # An opt-out changed anywhere else would skip the log (who, when, why) and the rule
    # that staff need a reason to opt a customer back in: every path calls consent_change.
    writers = {
        str(path.relative_to(ROOT))
        for package in ("surveys", "followups", "care", "nps")
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
        and any(consent_writes(n) for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert writers == {CONSENT}  # the consent module itself is found: the search sees writes


# An import inside a function hides a dependency from the top of the module; each one left
# says why it cannot be at the top.
INNER_IMPORTS_WITH_A_REASON = {
    ("surveys.apps", "surveys"): "ready(): the system checks register once the apps are loaded",
    ("followups.apps", "followups.permissions"): "apps.py loads before the models it uses",
    ("followups.apps", "followups"): "ready(): the receivers use models, loaded only by then",
    ("followups.apps", "surveys.signals"): "ready(): connected once the apps are loaded",
    ("nps.apps", "nps.outbound"): "ready(): the receivers use models, loaded only by then",
    ("nps.apps", "nps.reporting"): "ready(): the receivers use models, loaded only by then",
    ("nps.apps", "followups.signals"): "ready(): connected once the apps are loaded",
    ("nps.apps", "surveys.signals"): "ready(): connected once the apps are loaded",
    ("care.apps", "care"): "ready(): the receivers use models, loaded only by then",
    ("care.apps", "care.receivers"): "ready(): the receivers use models, loaded only by then",
    ("nps.adminsite", "nps.dashboard.access"): "the admin site loads with the app registry",
}


def inner_imports() -> set[tuple[str, str]]:
    found = set()
    for package in ("surveys", "followups", "care", "nps", "devtools"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for node in ast.walk(function):
                    if isinstance(node, ast.Import):
                        found.update((module, alias.name) for alias in node.names)
                    elif isinstance(node, ast.ImportFrom) and node.module:
                        found.add((module, node.module))
    return found


def test_imports_inside_functions_are_only_those_that_must_wait() -> None:
    assert inner_imports() == set(INNER_IMPORTS_WITH_A_REASON)
