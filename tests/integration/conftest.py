"""The integration tests use the suite's ``make_registry``/``registry`` fixtures (tests/conftest.py)."""
