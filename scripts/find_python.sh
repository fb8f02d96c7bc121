#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter: Rasa Open Source 3.6 runs on 3.10, not 3.11.
# Looks at $PYTHON, then python3.10 on PATH, then pyenv's installed versions.
set -euo pipefail

is_310() { "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' 2>/dev/null; }

if [ -n "${PYTHON:-}" ]; then
  if is_310 "$PYTHON"; then echo "$PYTHON"; exit 0; fi
  echo "PYTHON=$PYTHON is not Python 3.10." >&2
  exit 1
fi
for candidate in python3.10 python3 python; do
  path=$(command -v "$candidate" 2>/dev/null) || continue
  # pyenv shims answer for versions that are installed but not selected; ask pyenv instead.
  case "$path" in */shims/*) continue ;; esac
  if is_310 "$path"; then echo "$path"; exit 0; fi
done
root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
for path in $(ls -d "$root"/versions/3.10.*/bin/python3.10 2>/dev/null | sort -V -r); do
  if is_310 "$path"; then echo "$path"; exit 0; fi
done
cat >&2 <<'MSG'
Python 3.10 was not found (Rasa Open Source 3.6.21 needs exactly 3.10).
Install it, then run the command again, for example:
  pyenv install 3.10.13          (with pyenv)
  apt-get install python3.10 python3.10-venv   (where your distribution has it)
or point PYTHON=/path/to/python3.10 at one you have.
MSG
exit 1
