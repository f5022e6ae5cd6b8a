"""`make security`: runs every attack and fault test (`pytest -m security`), collects what each one counted through
homeroom.testing.count_security_probes, runs `manage.py check --deploy` with production settings, and writes the
figures table of docs/security.md. Nothing in the table is typed by hand.

Exit status: 0 when every test passed and no leak, 500 or lost message was counted; 1 otherwise."""

import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "security.md"
START, END = "<!-- security-figures:start -->", "<!-- security-figures:end -->"
COLUMNS = ("probes", "leaks", "errors", "lost", "doubled")


def run_security_tests(figures: Path) -> int:
    env = {**os.environ, "HOMEROOM_TESTING": "true", "HOMEROOM_SECURITY_FIGURES": str(figures)}
    command = [sys.executable, "-m", "pytest", "-m", "security", "-q", "-p", "no:randomly"]
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode  # noqa: S603 - our own interpreter


def deploy_check_issues() -> int:
    """How many issues `check --deploy` reports with the settings a production install starts from."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("HOMEROOM_") and key != "DATABASE_URL"}
    env.update({"SECRET_KEY": "x" * 64 + "production-like-key-for-the-check", "ALLOWED_HOSTS": "homeroom.example.org"})
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"System check identified (\d+) issue", result.stdout + result.stderr)
    if result.returncode == 0 and not found:
        return 0
    sys.stderr.write(result.stdout + result.stderr)
    return int(found.group(1)) if found else 1


def totals_by_area(figures: Path) -> dict[str, dict[str, int]]:
    totals: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COLUMNS, 0))
    if figures.exists():
        for line in figures.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            for column in COLUMNS:
                totals[row["area"]][column] += int(row[column])
    return dict(sorted(totals.items()))


def table(totals: dict[str, dict[str, int]], *, tests_passed: bool, deploy_issues: int) -> str:
    engine = "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from PATH
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    lines = [
        f"Produced by `make security` on {datetime.date.today():%Y-%m-%d} at commit `{commit or '?'}`, "  # noqa: DTZ011
        f"{engine}, {platform.machine()} with {os.cpu_count()} cores; the security tests "
        f"{'all passed' if tests_passed else 'did NOT all pass'}.",
        "",
        "| what was tried | probes | leaks | 500s or broken rows | messages lost | sent twice |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for area, counts in totals.items():
        lines.append(f"| {area} | " + " | ".join(f"{counts[column]:,}" for column in COLUMNS) + " |")
    grand = {column: sum(counts[column] for counts in totals.values()) for column in COLUMNS}
    lines.append("| **all** | " + " | ".join(f"**{grand[column]:,}**" for column in COLUMNS) + " |")
    lines += ["", f"`manage.py check --deploy` with production settings: {deploy_issues} issues."]
    return "\n".join(lines)


def write_into_doc(text: str) -> None:
    doc = DOC.read_text(encoding="utf-8")
    before, after = doc.partition(START)[0], doc.partition(END)[2]
    DOC.write_text(f"{before}{START}\n{text}\n{END}{after}", encoding="utf-8")


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        figures = Path(scratch) / "figures.jsonl"
        tests_status = run_security_tests(figures)
        totals = totals_by_area(figures)
    deploy_issues = deploy_check_issues()
    text = table(totals, tests_passed=tests_status == 0, deploy_issues=deploy_issues)
    write_into_doc(text)
    print(text)
    harm = sum(counts[column] for counts in totals.values() for column in ("leaks", "errors", "lost"))
    return 0 if tests_status == 0 and deploy_issues == 0 and harm == 0 and totals else 1


if __name__ == "__main__":
    sys.exit(main())
