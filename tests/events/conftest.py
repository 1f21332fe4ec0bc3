"""The event tests import their world builder from this directory."""
