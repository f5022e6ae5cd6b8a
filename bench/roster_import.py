"""A district's OneRoster export imported into an empty database, then the same files again.

    python bench/roster_import.py --database sqlite
    python bench/roster_import.py --database postgres          # needs DATABASE_URL (make bench sets it)
    python bench/roster_import.py --database sqlite --students 5000

The set comes from bench/oneroster_district.py: by default 50,000 students, 90,000 guardians, 2,000 classes and
300,000 student enrollments in a 7 MB zip. Each import runs in a process of its own, as `manage.py
import_oneroster` does, so that its peak memory is its own; the time is the import's, from opening the zip to the
commit, without the interpreter's start-up. Goals on a 2-core machine: 60 s on SQLite, 90 s on PostgreSQL, peak
memory under 400 MB, and the re-import of unchanged files at least 3 times faster than the first import.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

IMPORT_ONCE = """
import json, resource, sys, time
import django
django.setup()
from pathlib import Path
from roster.imports.run import import_oneroster
start = time.perf_counter()
result = import_oneroster(Path(sys.argv[1]))
seconds = time.perf_counter() - start
assert result.imported, [str(problem) for problem in result.report.problems[:5]]
print(json.dumps({
    "seconds": seconds,
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "changed": result.summary.changed,
    "summary": result.summary.as_dict(),
}))
"""


def import_in_child(zip_path: Path, env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(  # noqa: S603 - our own script with fixed arguments
        [sys.executable, "-c", IMPORT_ONCE, str(zip_path)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode:
        sys.exit(done.stderr)
    figures: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--students", type=int, default=50_000)
    args = parser.parse_args()

    from bench.oneroster_district import write_district
    from homeroom.testing import drop_scratch_database, scratch_database_url

    if args.database == "sqlite":
        os.environ.pop("DATABASE_URL", None)
    elif not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("--database postgres needs DATABASE_URL (make bench sets it)")
    url = scratch_database_url("homeroom_bench_import")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "HOMEROOM_TESTING": "true",
        "DJANGO_SETTINGS_MODULE": "homeroom.settings",
        "LOG_LEVEL": "WARNING",
    }
    with tempfile.TemporaryDirectory(prefix="homeroom-oneroster-") as folder:
        zip_path = Path(folder) / "district.zip"
        counts = write_district(Path(folder) / "csv", students=args.students, zip_path=zip_path)
        rows = sum(counts.values())
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
        try:
            first = import_in_child(zip_path, env)
            again = import_in_child(zip_path, env)
        finally:
            drop_scratch_database(url)

    first_s, again_s = float(first["seconds"]), float(again["seconds"])  # type: ignore[arg-type]
    created = first["summary"]
    print(
        f"OneRoster import, {args.database}, {platform.machine()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}"
    )
    print(f"  set: {rows:,} rows, {zip_path.name} {counts}")
    print(f"  created: {json.dumps({kind: c['created'] for kind, c in created.items()})}")  # type: ignore[union-attr]
    print(f"  first import:  {first_s:6.1f} s  {rows / first_s:9,.0f} rows/s  peak {first['peak_mb']:.0f} MB")
    print(f"  re-import:     {again_s:6.1f} s  {rows / again_s:9,.0f} rows/s  peak {again['peak_mb']:.0f} MB")
    print(f"  re-import changed {again['changed']} records; first / re-import = {first_s / again_s:.1f}x (goal >= 3)")


if __name__ == "__main__":
    main()
