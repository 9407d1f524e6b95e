"""JWTs for the UI tests, issued by Airflow's configured auth manager."""

from __future__ import annotations

from typing import Any


def token_for(auth_manager: Any, username: str, role: str | None) -> str:
    """A JWT the auth manager issues for ``username`` with ``role`` (how Airflow's own tests authenticate)."""
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return str(auth_manager.generate_jwt(SimpleAuthManagerUser(username=username, role=role)))
