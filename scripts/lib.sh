# Shared by the project's scripts: paths and the shared cargo target directory.
# shellcheck shell=bash
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lattice/target}"
export PATH="$ROOT/.tools/bin:$HOME/.cargo/bin:$PATH"
log() { printf '[%s] %s\n' "$(basename "$0")" "$*"; }

# --- processes and ports, shared by the scripts that start nodes -------------------------------

running() { # PID: alive and not a zombie
  local st
  if [[ -r "/proc/$1/stat" ]]; then
    st="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    st="${st##*) }"; st="${st%% *}"
    [[ -n "$st" && "$st" != Z && "$st" != X ]]
  else
    kill -0 "$1" 2>/dev/null
  fi
}

stop_pids() { # PIDs: SIGTERM, up to 15 s, then SIGKILL; reaps them. Never kills by name.
  local pid i any
  [[ $# -gt 0 ]] || return 0
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for ((i = 0; i < 150; i++)); do
    any=0
    for pid in "$@"; do if running "$pid"; then any=1; fi; done
    [[ $any -eq 1 ]] || break
    sleep 0.1
  done
  for pid in "$@"; do
    if running "$pid"; then log "pid $pid ignored SIGTERM; SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
  done
  for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}

free_ports() { # N -> N distinct free TCP ports on 127.0.0.1
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

lattice_bin() { # the lattice binary: $LATTICE_BIN, else the shared target's debug build (built if missing)
  if [[ -n "${LATTICE_BIN:-}" ]]; then echo "$LATTICE_BIN"; return 0; fi
  local bin="$CARGO_TARGET_DIR/debug/lattice"
  if [[ ! -x "$bin" ]]; then
    log "no lattice binary at $bin; building it" >&2
    cargo build --bin lattice --manifest-path "$ROOT/Cargo.toml" >&2 || return 1
  fi
  echo "$bin"
}

# --- long versions of the fault suite's tests --------------------------------------------------

run_long_test() { # TEST VAR VALUE: runs integration test TEST with VAR=VALUE and its output shown
  cd "$ROOT"
  export "$2=$3"
  exec cargo test --workspace --test "$1" -- --nocapture
}
