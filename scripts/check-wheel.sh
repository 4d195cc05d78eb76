#!/usr/bin/env bash
# The package as users install it: build the wheel, install it (not editable) in a fresh venv, and run the
# harness from there, away from the source tree, so a file that only the checkout has (the node script, the
# image recipe, the presets, the scenario library) fails here and not on a user's machine.
set -euo pipefail
python=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# From a copy of the files git knows (or would add), so build/ and *.egg-info left by an earlier build cannot
# smuggle in files the package data does not name.
mkdir "$work/src"
while IFS= read -r -d '' file; do
  [[ -f $file && ! -L $file ]] && cp --parents "$file" "$work/src"
done < <(git ls-files -z --cached --others --exclude-standard)
"$python" -m pip wheel -q --no-deps -w "$work/dist" "$work/src"
"$python" -m venv "$work/venv"
"$work/venv/bin/pip" install -q "$work/dist"/*.whl
cd "$work"
where=$("$work/venv/bin/python" -c 'import core, infra, harness; print(infra.__file__)')
[[ $where == "$work/venv/"* ]] || { echo "check-wheel: infra imported from $where, not the wheel" >&2; exit 1; }
"$work/venv/bin/harness" --help >/dev/null
"$work/venv/bin/harness" scenarios >/dev/null
"$work/venv/bin/harness" image
echo "check-wheel: the wheel installs and runs (harness --help, scenarios, image)" >&2
