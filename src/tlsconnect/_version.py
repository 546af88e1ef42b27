"""The version of tlsconnect (one place: ``pyproject.toml`` reads nothing from here)."""

__version__ = "0.1.0"
