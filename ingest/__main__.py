"""`python -m ingest`: see ingest.cli.

The program's composition root: the one place in ingest/ that knows the search index, so that every
document stored is indexed in Chroma right away (BM25 follows the SQL store by itself). The parser and
`ingest.cli` stay free of retrieval; `--show` and `--sql-only` never open Chroma.
"""

import os
import sys

from ingest.cli import main
from retrieval.hybrid import indexer

if __name__ == "__main__":
    try:
        sys.exit(main(on_stored_for=indexer))
    except BrokenPipeError:  # output piped into `head` and closed early
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
