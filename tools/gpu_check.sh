#!/usr/bin/env bash
# One-shot check of medprobe on a machine with a hardware GPU, in at most
# 5 minutes, printed as one Markdown table:
#   adapter (name, software or not, optional features), golden DINOv3 tests
#   with REQUIRE_GPU=1, kernel conformance (every kernel test, REQUIRE_GPU=1),
#   DINOv3 ViT-S/B/L images/s at 224 px batch 32 (random weights), blocked
#   GEMM and conv3d GFLOP/s on the same adapter, one training step of the
#   default decoder (WebGPU beside the CPU path).
#
# It needs nothing but this repository and its .deno/ folder: Deno from
# .deno/node_modules/.bin and every npm dependency from .deno/deno_dir
# (DENO_DIR), filled beforehand on a machine that reaches the npm registry:
#
#   tools/gpu_check.sh --prepare      # here: install Deno, cache every dependency into .deno/
#   tools/gpu_check.sh [--out DIR]    # there: run the checks (offline), logs in DIR
#
# Each check runs under its own time limit and the whole run under 300 s; a
# check that fails or times out is reported as such and the others still run.
# Exit status: 0 when every check passed, 1 otherwise.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="$root/.deno/node_modules/.bin:$PATH"
export DENO_DIR="${MEDPROBE_GPU_CHECK_DENO_DIR:-$root/.deno/deno_dir}"
export DENO_NO_UPDATE_CHECK=1
export ORT_DISABLE_TELEMETRY=1
if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "${XDG_RUNTIME_DIR:-/nonexistent}" ]; then
  export XDG_RUNTIME_DIR="${TMPDIR:-/tmp}/medprobe-xdg-$(id -u)"
  mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
fi

entries=(
  bench/encoder_bench.ts bench/conv3d_gemm_bench.ts bench/decoder3d_bench.ts
  tests/golden_dinov3_test.ts
)
kernel_tests=()
while IFS= read -r f; do kernel_tests+=("$f"); done < <(find kernels -name '*_test.ts' | sort)

if [ "${1:-}" = "--prepare" ]; then
  # shellcheck source=tools/setup.sh
  source "$root/tools/setup.sh"
  export DENO_DIR="${MEDPROBE_GPU_CHECK_DENO_DIR:-$root/.deno/deno_dir}"
  mkdir -p "$DENO_DIR"
  deno cache "${entries[@]}" "${kernel_tests[@]}" || exit 1
  # onnxruntime-node's native addon is fetched on first import: load it once.
  deno eval 'await import("onnxruntime-node")' || exit 1
  echo "gpu_check: Deno and every dependency are in .deno/ ($(du -sh .deno | cut -f1)); copy the repository with it"
  exit 0
fi

out="$(mktemp -d)"
if [ "${1:-}" = "--out" ] && [ -n "${2:-}" ]; then out="$2"; mkdir -p "$out"; fi
if ! command -v deno >/dev/null; then
  echo "gpu_check: no Deno in .deno/: run tools/gpu_check.sh --prepare first" >&2
  exit 1
fi
start_all=$(date +%s)
budget="${MEDPROBE_GPU_CHECK_BUDGET:-300}"
rows=()
failed=0

# run NAME LIMIT_S COMMAND... : runs under min(LIMIT_S, what is left of the budget), log in $out/NAME.log
run() {
  local name="$1" limit="$2"
  shift 2
  local left=$((budget - ($(date +%s) - start_all)))
  [ "$left" -lt "$limit" ] && limit="$left"
  if [ "$limit" -le 5 ]; then
    echo "(skipped: the 300 s budget is spent)" >"$out/$name.log"
    return 124
  fi
  local t0=$(date +%s)
  timeout --kill-after=5 "$limit" "$@" >"$out/$name.log" 2>&1
  local rc=$?
  echo "$(($(date +%s) - t0))" >"$out/$name.secs"
  return $rc
}

secs() { cat "$out/$1.secs" 2>/dev/null || echo "-"; }
plain() { sed 's/\x1b\[[0-9;]*m//g' "$out/$1.log"; }
summary() { plain "$1" | grep -E '^(ok|FAILED) \| [0-9]+ passed' | tail -n1; }
row() { rows+=("| $1 | $2 | $3 |"); }
status() { # NAME RC: "ok" or "FAILED (...)"
  if [ "$2" = 0 ]; then echo "ok"; elif [ "$2" = 124 ] || [ "$2" = 137 ]; then echo "TIMED OUT"; else echo "FAILED (exit $2)"; fi
}

# Test steps pass on their summary line: Deno may abort at exit after the tests (a WebGPU teardown crash).
test_status() { # NAME RC
  if summary "$1" | grep -q '^ok'; then
    [ "$2" = 0 ] && echo "ok" || echo "ok (process exited $2 after the tests)"
  else
    status "$1" "$2"
  fi
}

# 1. adapter
run adapter 30 deno eval --unstable-webgpu '
const a = await navigator.gpu?.requestAdapter({ powerPreference: "high-performance" });
if (!a) { console.log("no WebGPU adapter"); Deno.exit(3); }
const i = a.info;
const text = [i.vendor, i.architecture, i.device, i.description].join(" ");
const sw = /llvmpipe|lavapipe|swiftshader|software|warp|basic render/i.test(text) || a.isFallbackAdapter;
console.log(`${i.description || i.device || i.vendor} (${sw ? "SOFTWARE" : "hardware"}; features: ${[...a.features].sort().join(", ") || "none"}; maxStorageBufferBindingSize ${a.limits.maxStorageBufferBindingSize}, maxComputeWorkgroupStorageSize ${a.limits.maxComputeWorkgroupStorageSize})`);
if (sw) Deno.exit(4);'
rc=$?
[ $rc = 0 ] || failed=1
row "adapter" "$(plain adapter | tail -n1)$([ $rc = 4 ] && echo ' — not a hardware GPU')" "$(secs adapter)"

# 2. golden DINOv3 tests on the GPU
REQUIRE_GPU=1 run golden 90 deno test -A tests/golden_dinov3_test.ts
rc=$?
summary golden | grep -q '^ok' || failed=1
row "golden DINOv3 tests (REQUIRE_GPU=1)" "$(test_status golden $rc): $(summary golden)" "$(secs golden)"

# 3. kernel conformance: every kernel test, variants against their references
REQUIRE_GPU=1 run kernels 100 deno test -A "${kernel_tests[@]}"
rc=$?
summary kernels | grep -q '^ok' || failed=1
row "kernel conformance (${#kernel_tests[@]} files, REQUIRE_GPU=1)" "$(test_status kernels $rc): $(summary kernels)" "$(secs kernels)"

# 4. encoder images/s at 224 px, batch 32
run encoder 90 deno run -A bench/encoder_bench.ts --models vits16,vitb16,vitl16 --batches 32 --reps 2 --no-gemm
rc=$?
[ $rc = 0 ] || failed=1
enc="$(plain encoder | grep -E '^\| vit[sbl]16 \| 32 \|' | sort -u | awk -F'|' '{gsub(/ /,"",$2); gsub(/ /,"",$5); printf "%s %s img/s; ", $2, $5}')"
row "DINOv3 encoder, 224 px, batch 32 (images/s)" "$(status encoder $rc): ${enc:-no figures}" "$(secs encoder)"

# 5. GEMM and conv3d GFLOP/s on the same adapter
run conv3d 45 deno run -A bench/conv3d_gemm_bench.ts --reps 2 --skip-direct
rc=$?
[ $rc = 0 ] || failed=1
conv="$(plain conv3d | grep -E '^stage' | awk '{printf "%s GEMM %s, fwd %s, dX %s, dW %s; ", $1, $(NF-11), $(NF-10), $(NF-9), $(NF-8)}')"
row "GEMM vs conv3d GFLOP/s (decoder stages)" "$(status conv3d $rc): ${conv}$(plain conv3d | grep -E '^conv3d / GEMM' | tail -n1)" "$(secs conv3d)"

# 6. one training step of the default decoder
run decoder 60 deno run -A bench/decoder3d_bench.ts --steps 2 --gpu-steps 2
rc=$?
[ $rc = 0 ] || failed=1
dec="$(plain decoder | grep -E '^(cpu|webgpu) \(' | sed -E 's/^(cpu|webgpu) \(.*\): ([0-9.]+ s\/step)/\1: \2/' | tr '\n' ';')$(plain decoder | grep -E '^cpu is' | cut -d'(' -f1)"
row "decoder3d default, one training step" "$(status decoder $rc): ${dec:-no figures}" "$(secs decoder)"

total=$(($(date +%s) - start_all))
echo
echo "## medprobe GPU check ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -n), ${total} s)"
echo
echo "| check | result | s |"
echo "| --- | --- | --- |"
for r in "${rows[@]}"; do echo "$r"; done
echo
echo "logs: $out"
exit $failed
