"""Defences shared by every entry point: spreadsheet-safe CSV cells (``csv_cells``), owner-only files
(``files``), secrets encrypted at rest (``secrets``), log text that cannot forge a record
(``log_text``), a terminal that CRM text cannot drive (``terminal``). SECURITY.md has the threat model."""
