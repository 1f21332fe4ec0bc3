"""Defences shared by every entry point: spreadsheet-safe CSV cells, owner-only files, secrets
encrypted at rest, log text that cannot forge a line (see SECURITY.md for the threat model)."""
