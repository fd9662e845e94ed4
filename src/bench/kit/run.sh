#!/usr/bin/env bash
# TimeSformer WebGPU benchmark kit: `npm run bench` for a bare GPU machine (no Node, no Vulkan loader,
# no network). Made by `npm run bench:kit`; everything it needs is in this folder.
#
#   ./run.sh [bench options]      e.g. ./run.sh --iterations 10 --models base,hr --out "$OUT/bench.json"
#   ./run.sh verify <model_dir> <expected.safetensors> [--backend wgsl]   (paths absolute: it runs from the kit)
#
# First run unpacks payload.tar.xz (Node, dawn.node, the bundled benchmark, onnxruntime-web)
# into $KIT_WORK (default: .work beside this script). Where the system has no Vulkan loader (or
# KIT_BUNDLED_LIBS=1), the loader and the GL libraries NVIDIA's Vulkan driver needs are unpacked from debs/
# and found through LD_LIBRARY_PATH: nothing is installed into the system.
set -euo pipefail

kit=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=${KIT_WORK:-$kit/.work}

if [[ ! -x $work/bin/node ]]; then
  echo "== unpacking the kit into $work" >&2
  mkdir -p "$work"
  tar -xJf "$kit/payload.tar.xz" -C "$work"
fi

has_system_loader() { ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '; }
if [[ ${KIT_BUNDLED_LIBS:-} == 1 ]] || ! has_system_loader; then
  sysroot=$work/sysroot
  if [[ ! -d $sysroot ]]; then
    echo "== unpacking the Vulkan loader and GL libraries into $sysroot" >&2
    mkdir -p "$sysroot"
    for deb in "$kit"/debs/*.deb; do
      if command -v dpkg-deb >/dev/null; then
        dpkg-deb -x "$deb" "$sysroot"
      else # a deb is an ar archive whose data.tar.xz holds the files
        ar p "$deb" data.tar.xz | tar -xJ -C "$sysroot"
      fi
    done
  fi
  export LD_LIBRARY_PATH="$sysroot/usr/lib/x86_64-linux-gnu:$sysroot/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

# The GPU's Vulkan driver: NVIDIA's ICD where container runtimes put it, unless the caller named one.
if [[ -z ${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-} ]]; then
  for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    if [[ -f $icd ]]; then export VK_DRIVER_FILES=$icd; break; fi
  done
fi
echo "== Vulkan driver: ${VK_DRIVER_FILES:-${VK_ICD_FILENAMES:-the system default}}" >&2

export TIMESFORMER_GPU=system XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
[[ ${1:-} == --unpack ]] && exit 0 # ./run.sh --unpack: unpack only (run-all.sh does it before its timed stages)
cd "$work/app"
if [[ ${1:-} == verify ]]; then # ./run.sh verify <model_dir> <expected.safetensors> --backend wgsl
  shift
  exec "$work/bin/node" verify.mjs "$@"
fi
exec "$work/bin/node" bench.mjs "$@"
