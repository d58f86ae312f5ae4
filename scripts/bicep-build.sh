#!/usr/bin/env bash
# Compiles every .bicep and .bicepparam file under infra/ with the linter rules of infra/bicepconfig.json and
# fails on ANY diagnostic: an error, a warning (BCP type warnings included, which the Bicep CLI exits 0 for) or
# an info. Compiled ARM JSON goes to .bicep/out/ (git-ignored), mirroring infra/, where test/infra reads it;
# a .bicepparam file compiles to <name>.parameters.json.
#
# Bicep CLI, in order: $BICEP, .bicep/bin/bicep, `bicep` on PATH, `az bicep`, else scripts/install-bicep.sh
# installs it from NuGet. Env: INFRA_DIR (default infra), BICEP_OUT_DIR (default .bicep/out): tests point them
# at temporary folders.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INFRA_DIR="$(cd "${INFRA_DIR:-$ROOT/infra}" && pwd)"
OUT_DIR="${BICEP_OUT_DIR:-$ROOT/.bicep/out}"

if [[ -n "${BICEP:-}" ]]; then
  BICEP_CMD=("$BICEP")
elif [[ -x "$ROOT/.bicep/bin/bicep" ]]; then
  BICEP_CMD=("$ROOT/.bicep/bin/bicep")
elif command -v bicep >/dev/null 2>&1; then
  BICEP_CMD=(bicep)
elif command -v az >/dev/null 2>&1 && az bicep version >/dev/null 2>&1; then
  BICEP_CMD=(az bicep)
else
  installed="$(bash "$ROOT/scripts/install-bicep.sh" | tail -n 1)" || {
    echo "bicep-build: no Bicep CLI and scripts/install-bicep.sh could not install one" >&2
    exit 1
  }
  BICEP_CMD=("$installed")
fi

indent() { sed 's/^/    /'; }

mapfile -d '' TEMPLATES < <(cd "$INFRA_DIR" && find . -name '*.bicep' -type f -print0 | sort -z)
mapfile -d '' PARAMS < <(cd "$INFRA_DIR" && find . -name '*.bicepparam' -type f -print0 | sort -z)
if [[ ${#TEMPLATES[@]} -eq 0 && ${#PARAMS[@]} -eq 0 ]]; then
  echo "bicep-build: no .bicep or .bicepparam file under $INFRA_DIR" >&2
  exit 1
fi

mkdir -p "$OUT_DIR"
# Stale output of a file that no longer compiles must not reach the tests.
find "$OUT_DIR" -name '*.json' -type f -delete
LOG="$(mktemp)"
FORMATTED="$(mktemp -d)"
trap 'rm -rf "$LOG" "$FORMATTED"' EXIT
start=$(date +%s%N)
status=0
if [[ "${BICEP_CMD[0]}" == az ]]; then FILE_FLAG=(--file); else FILE_FLAG=(); fi

# Templates: the Bicep CLI compiles them all in one process (--pattern), which saves a second of start-up
# per file; `az bicep` has no --pattern, so it gets one call per file.
if [[ ${#TEMPLATES[@]} -gt 0 ]]; then
  if [[ "${BICEP_CMD[0]}" == az ]]; then
    for t in "${TEMPLATES[@]}"; do
      rel="${t#./}"
      mkdir -p "$OUT_DIR/$(dirname "$rel")"
      "${BICEP_CMD[@]}" build --file "$INFRA_DIR/$rel" --outfile "$OUT_DIR/${rel%.bicep}.json" >>"$LOG" 2>&1 || status=1
    done
  else
    (cd "$INFRA_DIR" && "${BICEP_CMD[@]}" build --pattern '**/*.bicep' --outdir "$OUT_DIR") >>"$LOG" 2>&1 || status=1
  fi
fi
for p in "${PARAMS[@]}"; do
  rel="${p#./}"
  mkdir -p "$OUT_DIR/$(dirname "$rel")"
  "${BICEP_CMD[@]}" build-params "${FILE_FLAG[@]}" "$INFRA_DIR/$rel" \
    --outfile "$OUT_DIR/${rel%.bicepparam}.parameters.json" >>"$LOG" 2>&1 || status=1
done

# Formatting: the files must be as `bicep format` writes them. `format --pattern` rewrites in place, so it
# formats a copy. Skipped with `az bicep`, whose format command differs.
declare -A UNFORMATTED=()
if [[ "${BICEP_CMD[0]}" != az && ${#TEMPLATES[@]} -gt 0 ]]; then
  cp -R "$INFRA_DIR/." "$FORMATTED/"
  (cd "$FORMATTED" && "${BICEP_CMD[@]}" format --pattern '**/*.bicep') >>"$LOG" 2>&1 || status=1
  for t in "${TEMPLATES[@]}"; do
    rel="${t#./}"
    if [[ -f "$FORMATTED/$rel" ]] && ! cmp -s "$INFRA_DIR/$rel" "$FORMATTED/$rel"; then
      UNFORMATTED["$rel"]="$(diff "$INFRA_DIR/$rel" "$FORMATTED/$rel" | head -n 20 || true)"
    fi
  done
fi

# One line per file, then what is wrong with it. Diagnostics read "<path>(line,col) : Error|Warning|Info ...".
failures=0
for f in "${TEMPLATES[@]}" "${PARAMS[@]}"; do
  rel="${f#./}"
  diagnostics="$(grep -F "$INFRA_DIR/$rel(" "$LOG" | grep -E '\) : (Error|Warning|Info) ' || true)"
  if [[ -n "$diagnostics" || -n "${UNFORMATTED[$rel]:-}" ]]; then
    failures=$((failures + 1))
    echo "FAIL $rel"
    [[ -z "$diagnostics" ]] || indent <<<"$diagnostics"
    if [[ -n "${UNFORMATTED[$rel]:-}" ]]; then
      echo "    $rel is not formatted as \`bicep format\` writes it (run: bicep format $rel):"
      indent <<<"${UNFORMATTED[$rel]}" | indent
    fi
    out="$OUT_DIR/${rel%.bicep}.json"
    [[ "$rel" == *.bicepparam ]] && out="$OUT_DIR/${rel%.bicepparam}.parameters.json"
    rm -f "$out"
  else
    echo "ok   $rel"
  fi
done
# Anything else the CLI printed (a crash, a diagnostic without a file) also fails the build.
other="$(grep -vE '\) : (Error|Warning|Info) ' "$LOG" | grep -v '^\s*$' || true)"
if [[ -n "$other" ]]; then
  echo "FAIL: Bicep CLI output not tied to a file:"
  indent <<<"$other"
  failures=$((failures + 1))
fi
if [[ $status -ne 0 && $failures -eq 0 ]]; then
  echo "FAIL: the Bicep CLI failed without a diagnostic"
  failures=1
fi

elapsed_ms=$((($(date +%s%N) - start) / 1000000))
total=$((${#TEMPLATES[@]} + ${#PARAMS[@]}))
if [[ "${BICEP_CMD[0]}" == az ]]; then version="$(az bicep version 2>/dev/null | head -n 1)"; else version="$("${BICEP_CMD[@]}" --version 2>/dev/null | head -n 1)"; fi
echo "bicep-build: $total files, $failures failed, exit code of the Bicep CLI $status, ${elapsed_ms} ms ($version)"
[[ $failures -eq 0 ]]
