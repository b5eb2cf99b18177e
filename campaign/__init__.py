"""campaign: the core of the campaign room (domain, schema, settings, live figures)."""

__version__ = "0.1.0"
