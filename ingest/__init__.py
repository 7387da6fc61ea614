"""Ingest: disclosure PDFs into plain Document data (tables, rows, cells, narrative chunks).

A pipeline of small pure functions; only `ingest.pdf` imports pdfplumber and nothing here writes
to a database (the CLI hands the Document to the store).
"""
