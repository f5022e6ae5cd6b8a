import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from homeroom.env import env_bool, env_int, env_str

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("raw", "value"), [("true", True), ("FALSE", False), ("True", True)])
def test_booleans_read_true_or_false(monkeypatch, raw, value):
    monkeypatch.setenv("HOMEROOM_FLAG", raw)
    assert env_bool("HOMEROOM_FLAG", default=not value) is value


@pytest.mark.parametrize("raw", ["yes", "1", ""])
def test_an_unparseable_boolean_stops_start_up(monkeypatch, raw):
    monkeypatch.setenv("HOMEROOM_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match="HOMEROOM_FLAG must be 'true' or 'false'"):
        env_bool("HOMEROOM_FLAG", default=False)


def test_an_unparseable_number_stops_start_up(monkeypatch):
    monkeypatch.setenv("HOMEROOM_NUMBER", "twelve")
    with pytest.raises(ImproperlyConfigured, match="whole number"):
        env_int("HOMEROOM_NUMBER", default=1)


def test_a_secret_can_be_read_from_a_file(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cret-from-file\n")
    monkeypatch.setenv("SECRET_KEY_FILE", str(secret))
    assert env_str("SECRET_KEY", default="") == "s3cret-from-file"


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    inherited = ("HOMEROOM_", "SECRET_KEY", "DATABASE_URL", "DJANGO_")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(inherited)}
    return subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_settings_pass_the_deployment_checklist():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY="a-long-random-production-secret-4f9d8a7c6b5e4d3c2b1a0f9e8d7c6b5a",
        ALLOWED_HOSTS="homeroom.example.org",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_task_worker_refuses_to_start_without_a_secret_key():
    result = _manage("db_worker", "--help")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_the_web_process_refuses_to_start_without_a_secret_key():
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HOMEROOM_", "SECRET_KEY", "DJANGO_"))}
    result = subprocess.run(
        [sys.executable, "-c", "import homeroom.wsgi"], cwd=BASE_DIR, env=clean, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_one_off_commands_run_without_a_secret_key():
    result = _manage("makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "No changes detected" in result.stdout
