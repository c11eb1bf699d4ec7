#!/usr/bin/env bash
# Regenerates every package's PyTorch fixtures. Needs Debian's python3-torch (apt-get install python3-torch);
# tests only read the committed fixtures and never need Python. Every script is seeded, so a rerun leaves the
# committed files byte-identical, except the two noted below.
set -euo pipefail
cd "$(dirname "$0")/.."
run() {
  echo "== $1"
  /usr/bin/python3 "$1"
}
for gen in packages/*/scripts/generate_fixtures.py; do
  run "$gen"
done

# torch.save files for @dl/core's decodeTorchStateDict. legacy.pt (the pre-1.6 format keys storages by
# their memory address) and torchscript.pt (TorchScript's debug records) come out different on every run,
# and their tests only check that they are refused: keep the committed copies when present.
torch_dir=packages/core/fixtures/torch
keep=$(mktemp -d)
trap 'rm -rf "$keep"' EXIT
for f in legacy.pt torchscript.pt; do
  if [ -f "$torch_dir/$f" ]; then cp -p "$torch_dir/$f" "$keep/$f"; fi
done
run packages/core/scripts/torch_pt_fixtures.py
for f in legacy.pt torchscript.pt; do
  if [ -f "$keep/$f" ]; then cp -p "$keep/$f" "$torch_dir/$f"; fi
done

# After transformer's generate_fixtures.py: gpt2_torch_pt.py saves the GPT-2 of gpt2.safetensors with
# torch.save and checks its logits against gpt2.json.
run packages/transformer/scripts/gpt2_torch_pt.py
run packages/transformer/scripts/rnn_seq2seq_fixtures.py
