"""Shared pytest set-up: every patient case under tests/cases/ runs as a test item."""

pytest_plugins = ["engine.pytest_plugin"]
