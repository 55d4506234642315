#!/usr/bin/env bash
# Runs every fuzz target for a short fixed time (FUZZTIME, 10s by default), one after another:
# the request decoders, the questionnaire importers (YAML/JSON, XLSX), the answer importer (CSV,
# XLSX), the condition language, the scoring engine and the password-hash parser. Their seed
# corpora (testdata/fuzz/<target> of each package) already run with every `go test`; this
# explores beyond them. A failure leaves the crasher in that package's testdata/fuzz/<target>:
# fix the defect and commit the file as a seed. Called by .ci/run; costs about 2 minutes with
# the instrumented builds (docs/security.md).
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-10s}
targets=(
  ./api:FuzzBindJSON
  ./questionnaire:FuzzDecodeDefinition
  ./questionnaire:FuzzDecodeDefinitionXLSX
  ./questionnaire:FuzzParseCondition
  ./questionnaire:FuzzScore
  ./round:FuzzParseImport
  ./auth:FuzzDecodeHash
)
# Each target must exist: a renamed one would otherwise fuzz nothing, silently.
for t in "${targets[@]}"; do
  pkg=${t%%:*} name=${t##*:}
  if ! grep -q "^func $name(" "$pkg"/*_test.go; then
    echo "tools/fuzz.sh: $name is not in $pkg" >&2
    exit 1
  fi
done
start=$SECONDS
for t in "${targets[@]}"; do
  pkg=${t%%:*} name=${t##*:}
  echo "== $name ($pkg, $FUZZTIME)"
  go test -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" -parallel 2 "$pkg"
done
echo "== fuzzing took $((SECONDS - start)) s"
