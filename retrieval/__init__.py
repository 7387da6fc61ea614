"""Retrieval: document resolution, row lookup, hybrid (BM25 + Chroma) search over what ingest stored."""
