"""Root conftest (thin): the plugin itself loads through its pytest11 entry point."""

pytest_plugins = ["pytester"]  # the project's own plugin tests (tests/test_plugin.py)
