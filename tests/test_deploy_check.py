"""Production settings pass `manage.py check --deploy`; DEBUG=true keeps plain http working locally."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SECURITY_VARIABLES = (
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
)


def _env(tmp_path: Path, **overrides) -> dict:
    """The process environment with none of the settings under test inherited, plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if k not in SECURITY_VARIABLES and k not in ("DEBUG", "SECRET_KEY")}
    return {
        **env,
        "DJANGO_SETTINGS_MODULE": "recruit.settings",
        "RECRUIT_DATA_DIR": str(tmp_path / "data"),
        **overrides,
    }


def _production(tmp_path: Path, **overrides) -> dict:
    return _env(
        tmp_path,
        DEBUG="false",
        SECRET_KEY="k3y-from-the-environment-" + "x7Qp9Zr2Lm5Vb8Nc4Hd6Jf1Gs3Tw0Ye" * 2,
        ALLOWED_HOSTS="recruit.example.com",
        **overrides,
    )


def check_deploy(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def security_settings(env: dict) -> dict:
    code = (
        "import json, django; django.setup()\nfrom django.conf import settings as s\n"
        f"print(json.dumps({{name: getattr(s, name) for name in {list(SECURITY_VARIABLES)!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = check_deploy(_production(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "warning"),
    [
        ("SECURE_SSL_REDIRECT", "false", "security.W008"),
        ("SESSION_COOKIE_SECURE", "false", "security.W012"),
        ("CSRF_COOKIE_SECURE", "false", "security.W016"),
        ("SECURE_HSTS_SECONDS", "0", "security.W004"),
        ("SECURE_HSTS_INCLUDE_SUBDOMAINS", "false", "security.W005"),
    ],
)
def test_each_https_setting_can_be_turned_off_and_check_deploy_says_so(tmp_path, variable, value, warning):
    """For a deployment behind a proxy that does the redirect itself, say: the check names what is off."""
    result = check_deploy(_production(tmp_path, **{variable: value}))
    assert result.returncode != 0 and warning in result.stderr, result.stdout + result.stderr


def test_debug_keeps_runserver_on_plain_http(tmp_path):
    assert security_settings(_env(tmp_path, DEBUG="true")) == {
        "SECURE_SSL_REDIRECT": False,
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_HSTS_SECONDS": 0,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_HSTS_PRELOAD": False,
        "SECURE_PROXY_SSL_HEADER": None,
    }


def test_the_proxy_header_and_hsts_are_configurable(tmp_path):
    values = security_settings(
        _production(
            tmp_path,
            SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
            SECURE_HSTS_SECONDS="31536000",
            SECURE_HSTS_PRELOAD="true",
        )
    )
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["SECURE_HSTS_SECONDS"] == 31536000 and values["SECURE_HSTS_PRELOAD"] is True
    assert security_settings(_production(tmp_path))["SECURE_HSTS_SECONDS"] == 3600


@pytest.mark.django_db
def test_behind_a_tls_proxy_http_is_redirected_and_https_gets_hsts(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = client.get("/admin/login/")
    assert response.status_code == 301 and response["Location"] == "https://testserver/admin/login/"
    response = client.get("/admin/login/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=3600; includeSubDomains"
