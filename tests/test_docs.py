"""docs/architecture.md names code in backticks; every name it gives must still exist."""

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE = ROOT / "docs" / "architecture.md"
CODE = ("nps", "surveys", "followups", "care", "tests", "bench")

# Backticked names that are not Python: permission codenames and logger names.
NOT_CODE = {"surveys.change_consent", "followups.change_priority", "django.server"}

NAME = r"[A-Za-z_][A-Za-z0-9_]*"
DOTTED = re.compile(rf"^(?:{NAME}/)*{NAME}(?:\.{NAME})+(?:\(\))?$")
CALL = re.compile(rf"^({NAME})\(\)$")


@cache
def python_files() -> tuple[Path, ...]:
    return tuple(p for package in CODE for p in (ROOT / package).rglob("*.py"))


@cache
def defined_names(path: Path) -> frozenset[str]:
    """Functions, classes and assignments anywhere in the module (methods and fields too);
    not imports: a name is documented where it is defined."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return frozenset(names)


def modules_named(dotted: list[str]) -> list[Path]:
    """Project modules whose path ends with these parts: `dispatch` or `surveys/replies`."""
    tail = "/".join(dotted)
    return [
        p for p in python_files() if module_path(p) == tail or module_path(p).endswith(f"/{tail}")
    ]


def module_path(path: Path) -> str:
    return str(path.relative_to(ROOT)).removesuffix(".py").removesuffix("/__init__")


def resolves(token: str) -> bool:
    token = token.removesuffix("()")
    if token.endswith(".py"):
        return any(str(p.relative_to(ROOT)).endswith(token) for p in python_files()) or (
            (ROOT / token).exists()
        )
    parts = re.split(r"[./]", token)
    if parts[0] == "settings":
        return parts[1] in defined_names(ROOT / "nps" / "settings.py")
    if modules_named(parts):  # a module: `followups.receivers`
        return True
    for cut in range(len(parts) - 1, 0, -1):  # the longest module prefix first
        modules = modules_named(parts[:cut])
        if modules:
            return any(parts[cut] in defined_names(m) for m in modules)
    # `Model.field`: a class and a name defined in the module that holds it
    return any(
        set(parts) <= defined_names(p) for p in python_files() if parts[0] in defined_names(p)
    )


def named_code(text: str) -> set[str]:
    tokens = set(re.findall(r"`([^`\n]+)`", text)) - NOT_CODE
    return {t for t in tokens if DOTTED.match(t) or CALL.match(t)}


def test_the_architecture_page_names_only_code_that_exists() -> None:
    missing = sorted(
        t for t in named_code(ARCHITECTURE.read_text(encoding="utf-8")) if not resolves(t)
    )
    assert missing == []


def test_the_name_check_notices_a_function_in_the_wrong_module() -> None:
    assert resolves("surveys.responses.response_record")
    assert not resolves("surveys.replies.response_record")
    assert not resolves("sendstatus.no_such_function()")
