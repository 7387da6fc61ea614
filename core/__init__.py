"""Shared domain types, settings, errors and the SQL table store."""
