#!/usr/bin/env bash
# Installs what a fresh machine lacks, idempotently, then exports PATH and
# environment for medprobe. Sourced by ./medprobe and ./test.
#  - Deno, pinned, from npm into .deno/ (no global install, no root needed);
#  - Mesa's software Vulkan driver via apt, only when no WebGPU adapter is found.
MEDPROBE_DENO_VERSION="2.9.6"
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_deno="$_root/.deno/node_modules/.bin/deno"
if [ ! -x "$_deno" ] || [ "$("$_deno" --version 2>/dev/null | head -n1 | cut -d' ' -f2)" != "$MEDPROBE_DENO_VERSION" ]; then
  echo "medprobe: installing Deno $MEDPROBE_DENO_VERSION from npm into .deno/" >&2
  mkdir -p "$_root/.deno"
  (cd "$_root/.deno" && npm install --no-save --no-audit --no-fund --loglevel=error "deno@$MEDPROBE_DENO_VERSION" >&2) || {
    echo "medprobe: could not install Deno from npm (is the npm registry reachable?)" >&2
    exit 1
  }
fi
export PATH="$_root/.deno/node_modules/.bin:$PATH"
# Nothing leaves the machine: no Deno update check (it queries dl.deno.land),
# and onnxruntime-node's telemetry off (else it writes a device id and event
# database under ~/.cache/Microsoft and a /tmp/mat-debug-<pid>.log per process).
export DENO_NO_UPDATE_CHECK=1
export ORT_DISABLE_TELEMETRY=1
# Mesa's lavapipe prints "XDG_RUNTIME_DIR is invalid" on every adapter request.
if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "${XDG_RUNTIME_DIR:-/nonexistent}" ]; then
  export XDG_RUNTIME_DIR="${TMPDIR:-/tmp}/medprobe-xdg-$(id -u)"
  mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
fi
_has_adapter() {
  deno eval --quiet --unstable-webgpu 'Deno.exit((await navigator.gpu?.requestAdapter()) ? 0 : 3)' 2>/dev/null
}
if [ -z "${MEDPROBE_SKIP_GPU_SETUP:-}" ] && ! _has_adapter; then
  echo "medprobe: no WebGPU adapter found; installing Mesa's software Vulkan driver (mesa-vulkan-drivers)" >&2
  _sudo=""
  [ "$(id -u)" != "0" ] && command -v sudo >/dev/null && _sudo="sudo"
  if command -v apt-get >/dev/null; then
    ($_sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $_sudo apt-get install -y -qq mesa-vulkan-drivers libegl-mesa0 >/dev/null) >&2 ||
      echo "medprobe: could not install Mesa; GPU tests will fail and the CPU/ONNX paths will be used" >&2
  else
    echo "medprobe: no apt-get; install a GPU driver or Mesa's lavapipe to get WebGPU" >&2
  fi
fi
