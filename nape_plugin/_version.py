"""The version of nape-plugin."""

__version__ = "0.1.0"
