"""The built add-on fixture (built_addon) lives in tests/conftest.py."""
