"""guideline-as-code: azathioprine guidance as validated, executable YAML rules."""

__version__ = "0.1.0"
