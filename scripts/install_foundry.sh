#!/usr/bin/env bash
# Installs Foundry (forge, cast, anvil), solc-js, OpenZeppelin and the JavaScript clients of
# the client suite (ethers, viem) into this checkout.
#
# Everything comes from the npm registry through package.json / package-lock.json into
# node_modules/ (git-ignored); .tools/bin/{forge,cast,anvil} (git-ignored) point at the
# native binaries that Foundry's platform packages carry. Forge cannot download a native
# solc here, so .tools/bin/forge exports FOUNDRY_SOLC=<checkout>/scripts/solc-shim, which
# serves forge with solc-js; that works from any working directory and any clone location.
#
# Idempotent: when the lockfile has not changed since the last install and the tools run,
# it does nothing and says so.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/install_foundry.sh [--force] [--help]

Installs forge, cast and anvil (npm @foundry-rs/*), solc-js (npm solc) and
@openzeppelin/contracts into node_modules/ with `npm install`, and links the tools
into .tools/bin/. Skips all work when already installed from the current
package-lock.json.

  --force   reinstall even if the installation looks current
  --help    show this help
EOF
}

FORCE=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "install_foundry: unknown argument: $arg" >&2; usage >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/.tools/bin"
STAMP="$ROOT/.tools/install.stamp"

command -v node >/dev/null || { echo "install_foundry: node is required (>= 20)" >&2; exit 1; }
command -v npm >/dev/null || { echo "install_foundry: npm is required" >&2; exit 1; }

# The platform suffix of Foundry's npm packages (@foundry-rs/forge-<os>-<arch>).
case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) echo "install_foundry: unsupported OS $(uname -s)" >&2; exit 1 ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "install_foundry: unsupported CPU $(uname -m)" >&2; exit 1 ;;
esac
PLATFORM="$os-$arch"

lock_hash() {
  # The stamp records which lockfile and platform the install came from.
  { cat "$ROOT/package-lock.json"; echo "$PLATFORM"; } | sha256sum 2>/dev/null | cut -d' ' -f1 \
    || { cat "$ROOT/package-lock.json"; echo "$PLATFORM"; } | shasum -a 256 | cut -d' ' -f1
}

installed_ok() {
  [[ -f "$STAMP" && "$(cat "$STAMP")" == "$(lock_hash)" ]] || return 1
  for tool in forge cast anvil; do
    [[ -x "$BIN/$tool" ]] || return 1
  done
  [[ -f "$ROOT/node_modules/solc/soljson.js" && -d "$ROOT/node_modules/@openzeppelin/contracts" ]] || return 1
  [[ -f "$ROOT/node_modules/ethers/package.json" && -f "$ROOT/node_modules/viem/package.json" ]] || return 1
  "$BIN/forge" --version >/dev/null 2>&1
}

if [[ "$FORCE" == 0 ]] && installed_ok; then
  echo "install_foundry: already installed ($("$BIN/forge" --version | head -1 | sed 's/^forge Version: /forge /'), solc-js $(node -p "require('$ROOT/node_modules/solc/package.json').version")); nothing to do"
  exit 0
fi

cd "$ROOT"
# --ignore-scripts: Foundry's postinstall would try to download binaries; the platform
# package already carries them, and npm here blocks install scripts anyway.
# `npm install` rather than `npm ci`: the lockfile pins every version, but `npm ci` refuses
# it because some of Foundry's optional platform packages (e.g. forge-linux-arm64) are not
# published, so the lockfile can never list them; `npm install` follows the lockfile as is.
npm install --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null

mkdir -p "$BIN"
for tool in cast anvil; do
  native="$ROOT/node_modules/@foundry-rs/$tool-$PLATFORM/bin/$tool"
  [[ -x "$native" ]] || { echo "install_foundry: missing $native (npm package @foundry-rs/$tool-$PLATFORM)" >&2; exit 1; }
  ln -sfn "../../node_modules/@foundry-rs/$tool-$PLATFORM/bin/$tool" "$BIN/$tool"
done
native_forge="$ROOT/node_modules/@foundry-rs/forge-$PLATFORM/bin/forge"
[[ -x "$native_forge" ]] || { echo "install_foundry: missing $native_forge (npm package @foundry-rs/forge-$PLATFORM)" >&2; exit 1; }
rm -f "$BIN/forge"
cat >"$BIN/forge" <<EOF
#!/usr/bin/env bash
# Written by scripts/install_foundry.sh: forge with the solc-js shim of this checkout.
root="\$(cd "\$(dirname "\${BASH_SOURCE[0]}")/../.." && pwd)"
export FOUNDRY_SOLC="\${FOUNDRY_SOLC:-\$root/scripts/solc-shim}"
exec "\$root/node_modules/@foundry-rs/forge-$PLATFORM/bin/forge" "\$@"
EOF
chmod +x "$BIN/forge" "$ROOT/scripts/solc-shim"

for tool in forge cast anvil; do
  "$BIN/$tool" --version >/dev/null || { echo "install_foundry: $BIN/$tool does not run" >&2; exit 1; }
done
"$ROOT/scripts/solc-shim" --version >/dev/null

lock_hash >"$STAMP"
echo "install_foundry: installed $("$BIN/forge" --version | head -1 | sed 's/^forge Version: /forge /'), cast, anvil, solc-js $(node -p "require('./node_modules/solc/package.json').version"), @openzeppelin/contracts $(node -p "require('./node_modules/@openzeppelin/contracts/package.json').version"), ethers $(node -p "require('./node_modules/ethers/package.json').version"), viem $(node -p "require('./node_modules/viem/package.json').version") into node_modules/ and .tools/bin/"
