# Sourced by run.sh and test.sh: create .venv if missing and install a requirements file when it changed.
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
    echo "creating .venv with $PYTHON"
    "$PYTHON" -m venv .venv
fi

# Install only when the requirements file (or requirements.txt it includes) changed since the last install.
install_requirements() {
    local req="$1" stamp=".venv/.installed-$1"
    local sum
    sum="$(cat "$req" requirements.txt | sha256sum | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
        .venv/bin/python -m pip install -q -r "$req"
        echo "$sum" > "$stamp"
    fi
}
