#!/usr/bin/env bash
# Lint, type-check and test on a fresh machine: .venv, dev dependencies, Debian chromium for the browser test.
set -euo pipefail
cd "$(dirname "$0")"

. scripts/venv.sh
install_requirements requirements-dev.txt

if [ ! -x /usr/bin/chromium ]; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    echo "installing Debian chromium for the browser test"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium fonts-noto-cjk
fi

echo "== ruff"
.venv/bin/ruff check .
echo "== mypy"
packages=()
for p in core ingest retrieval answering; do
    if [ -f "$p/__init__.py" ]; then packages+=("$p"); fi
done
.venv/bin/mypy "${packages[@]}"
echo "== pytest"
.venv/bin/python -m pytest -q "$@"
