"""The reliability tests use the suite's ``make_registry``/``registry`` and ``airflow_db`` fixtures
(tests/conftest.py); module-scoped tables come from ``registry_fixtures.registry_on``."""
