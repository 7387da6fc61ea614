#!/usr/bin/env bash
# Start the service on a fresh machine: .venv, dependencies, first ingest of data/, then the Streamlit app.
set -euo pipefail
cd "$(dirname "$0")"

. scripts/venv.sh
install_requirements requirements.txt

# First start: ingest the bundled PDFs (settings.data_dir) when the index holds no document.
if ! .venv/bin/python -c "import sys; from core.store import open_store; sys.exit(0 if open_store().list_documents() else 1)"; then
    DATA_DIR="$(.venv/bin/python -c 'from core.settings import get_settings; print(get_settings().data_dir)')"
    echo "index is empty: ingesting $DATA_DIR"
    .venv/bin/python -m ingest "$DATA_DIR" || echo "warning: some files could not be ingested (see above)"
else
    .venv/bin/python -c "from core.store import open_store; d = open_store().list_documents(); print(f'index holds {len(d)} documents, {sum(x.pages for x in d)} pages, {sum(x.n_rows for x in d)} rows')"
fi

if [ -f app.py ]; then
    exec .venv/bin/streamlit run app.py --server.port "${PORT:-8501}" --server.headless true
else
    echo "app.py is not there yet: nothing to serve."
fi
