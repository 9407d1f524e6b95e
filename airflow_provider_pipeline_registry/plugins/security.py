"""Who may read the registry through the plugin: Airflow's own authentication and authorization.

Every route of the plugin's app depends on :func:`requires_registry_read`: the caller must be
authenticated the way Airflow's REST API authenticates (a JWT as ``Authorization: Bearer`` or the
UI's session cookie, resolved by ``airflow.api_fastapi.core_api.security.get_user``) and must be
allowed to **read DAGs** (``is_authorized_dag(method="GET")``: the Viewer role and up with the
simple or FAB auth manager). An anonymous request gets 401, a user without DAG read access 403.
"""

from __future__ import annotations

from typing import Annotated, Any

from airflow.api_fastapi.core_api.security import get_user
from fastapi import Depends, HTTPException, status

#: what a user needs, as documented in the README
REQUIRED_PERMISSION = "read access to DAGs (is_authorized_dag, method GET)"


def requires_registry_read(user: Annotated[Any, Depends(get_user)]) -> Any:
    """The authenticated user, if allowed to read DAGs; else HTTP 403 (401 comes from ``get_user``)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails

    if not get_auth_manager().is_authorized_dag(method="GET", details=DagDetails(id=None), user=user):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"Forbidden: the Pipeline Registry needs {REQUIRED_PERMISSION}",
        )
    return user
