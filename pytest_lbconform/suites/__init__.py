"""The conformance suites (``pytest --pyargs pytest_lbconform.suites`` runs them from any directory)."""
