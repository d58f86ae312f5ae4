#!/usr/bin/env bash
# Installs the Bicep CLI into .bicep/bin/bicep from the NuGet package Azure.Bicep.CommandLine.linux-x64,
# because the usual installers (az bicep install, the GitHub release binary) download from hosts that CI
# cannot reach, while NuGet is reachable through the dotnet SDK.
#
# Prints the path of a usable Bicep CLI on its last line. Uses, in order: $BICEP (explicit), .bicep/bin/bicep
# (installed before), `bicep` on PATH, then installs from NuGet. `az bicep` is handled by bicep-build.sh.
#
# Env: BICEP_VERSION (default below), BICEP_FORCE_INSTALL=1 to skip the PATH lookup.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="${BICEP_VERSION:-0.49.2}"
DEST="$ROOT/.bicep"
BIN="$DEST/bin/bicep"

log() { echo "install-bicep: $*" >&2; }

if [[ -n "${BICEP:-}" ]]; then
  "$BICEP" --version >&2
  echo "$BICEP"
  exit 0
fi
if [[ -x "$BIN" ]] && [[ "$("$BIN" --version 2>/dev/null)" == *"$VERSION"* ]]; then
  echo "$BIN"
  exit 0
fi
if [[ "${BICEP_FORCE_INSTALL:-0}" != "1" ]] && command -v bicep >/dev/null 2>&1; then
  command -v bicep
  exit 0
fi

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) RID=linux-x64 ;;
  Linux-aarch64) RID=linux-arm64 ;;
  Darwin-x86_64) RID=osx-x64 ;;
  Darwin-arm64) RID=osx-arm64 ;;
  *) log "unsupported platform $(uname -s)-$(uname -m); install Bicep yourself (az bicep install)"; exit 1 ;;
esac
PACKAGE="Azure.Bicep.CommandLine.$RID"

if ! command -v dotnet >/dev/null 2>&1; then
  log "neither bicep nor dotnet is available; install the Bicep CLI (https://aka.ms/bicep-install) or the .NET SDK"
  exit 1
fi

# A throwaway project whose only job is PackageDownload: it fetches the package without building anything.
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
TFM="net$(dotnet --version | cut -d. -f1-2)"
cat >"$WORK/fetch.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>$TFM</TargetFramework>
    <RestorePackagesPath>$WORK/packages</RestorePackagesPath>
  </PropertyGroup>
  <ItemGroup>
    <PackageDownload Include="$PACKAGE" Version="[$VERSION]" />
  </ItemGroup>
</Project>
XML
log "restoring $PACKAGE $VERSION from NuGet"
dotnet restore "$WORK/fetch.csproj" --nologo -v quiet >&2

PKG_DIR="$WORK/packages/$(echo "$PACKAGE" | tr '[:upper:]' '[:lower:]')/$VERSION"
EXE="$(find "$PKG_DIR" -type f -name bicep | head -n 1)"
if [[ -z "$EXE" ]]; then
  log "no 'bicep' executable inside $PKG_DIR"
  exit 1
fi
mkdir -p "$DEST/bin"
# The single-file executable extracts nothing next to itself, but keep the package's folder intact anyway.
rm -rf "$DEST/pkg"
cp -R "$(dirname "$EXE")" "$DEST/pkg"
chmod +x "$DEST/pkg/bicep"
ln -sf "../pkg/bicep" "$BIN"
"$BIN" --version >&2
echo "$BIN"
