"""Apache Airflow provider: PySpark pipeline config, table config and run logs in DynamoDB."""

from typing import Any


def __getattr__(name: str) -> Any:
    """``__version__``: the installed distribution's (declared once, in pyproject.toml)."""
    if name == "__version__":
        from .provider_identity import version

        return version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
