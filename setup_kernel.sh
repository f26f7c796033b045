#!/usr/bin/env bash
# OVERVIEW
#   Create the seglab conda environment once, on the volume that survives a SageMaker notebook
#   instance stop (~/SageMaker), and register it as the Jupyter kernel "seglab". RAPIDS
#   (environment.yml) where nvidia-smi lists a GPU, the same environment without RAPIDS where
#   it does not. Safe to run again: finished work is not redone. Guide: docs/gpu_sagemaker.md.
#
# USAGE
#   ./setup_kernel.sh                    create the env (foreground, 10-20 min) and register it
#   ./setup_kernel.sh --on-create        same, in the background (log + completion marker);
#                                        returns in seconds (lifecycle "create notebook")
#   ./setup_kernel.sh --on-start         register the kernel, install jupytext into the Jupyter
#                                        server env, restart the server; rebuilds a missing or
#                                        half-built env in the background (lifecycle "start")
#   ./setup_kernel.sh --current-env      register the current python as kernel "seglab"
#   ./setup_kernel.sh --print-lifecycle [on-create|on-start]
#                                        print the lifecycle scripts to paste into SageMaker
#
# PARAMETERS (environment variables)
#   SEGLAB_ENV_PREFIX   env location          (default ~/SageMaker/envs/seglab)
#   SEGLAB_VARIANT      gpu | cpu             (default: gpu when nvidia-smi lists a GPU)
#   CUDA_MAJOR          12 | 13               (default 12; 13 needs Turing+ and driver >= 580)
#   SEGLAB_JUPYTER_ENV  Jupyter server env    (default ~/anaconda3/envs/JupyterSystemEnv)
#   PYTHON              interpreter for --current-env (default python3)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KERNEL_NAME="seglab"
ENV_PREFIX="${SEGLAB_ENV_PREFIX:-$HOME/SageMaker/envs/$KERNEL_NAME}"
READY="$ENV_PREFIX/.seglab-ready"    # written last; holds the variant (gpu or cpu)
LOG="$ENV_PREFIX.log"
PIDFILE="$ENV_PREFIX.pid"
ENV_FILE="$ENV_PREFIX.environment.yml"  # the environment.yml actually used
JUPYTER_ENV="${SEGLAB_JUPYTER_ENV:-$HOME/anaconda3/envs/JupyterSystemEnv}"
CUDA_MAJOR="${CUDA_MAJOR:-12}"
JUPYTEXT_PIN="$(grep -o '"jupytext==[^"]*"' "$REPO/pyproject.toml" | tr -d '"')"

log() { printf '[setup_kernel %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() { printf 'setup_kernel: %s\n' "$*" >&2; exit 1; }

conda_cmd() {
  if command -v conda >/dev/null 2>&1; then command -v conda
  elif [ -x "$HOME/anaconda3/bin/conda" ]; then echo "$HOME/anaconda3/bin/conda"
  else die "conda not found: install Miniforge or run on a SageMaker notebook instance"
  fi
}

variant() {
  if [ -n "${SEGLAB_VARIANT:-}" ]; then echo "$SEGLAB_VARIANT"
  elif nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then echo gpu
  else echo cpu
  fi
}

# environment.yml for this machine: RAPIDS lines dropped on CPU, CUDA 13 on request, and the
# project path made absolute (pip resolves "-e ." next to the file it reads).
write_env_file() {
  local kind="$1" cuda="cuda-version>=12.2,<13"
  [ "$CUDA_MAJOR" = 12 ] || cuda="cuda-version>=$CUDA_MAJOR.0,<$((CUDA_MAJOR + 1))"
  sed -e "s|^\(  *- -e \)\.\[|\1${REPO}[|" \
      -e "s|^\(  *- \)cuda-version>=12.2,<13|\1$cuda|" \
      "$REPO/environment.yml" |
    if [ "$kind" = cpu ]; then grep -v '# gpu-only'; else cat; fi >"$ENV_FILE"
}

building() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
ready() { [ -f "$READY" ] && [ -x "$ENV_PREFIX/bin/python" ]; }

register_kernel() {  # python display-name
  "$1" -m ipykernel install --user --name "$KERNEL_NAME" --display-name "$2" >/dev/null
  log "kernel '$KERNEL_NAME' ($2) -> $1"
}

register_env() {
  local kind
  kind="$(cat "$READY")"
  register_kernel "$ENV_PREFIX/bin/python" "Python (seglab, ${kind^^})"
}

create_env() {
  local kind conda
  kind="$(variant)"
  conda="$(conda_cmd)"
  mkdir -p "$(dirname "$ENV_PREFIX")"
  write_env_file "$kind"
  if [ -e "$ENV_PREFIX" ]; then
    log "removing the half-built env at $ENV_PREFIX"
    rm -rf "$ENV_PREFIX"
  fi
  log "creating the $kind env at $ENV_PREFIX from $ENV_FILE"
  "$conda" env create -p "$ENV_PREFIX" -f "$ENV_FILE"
  "$conda" clean --all --yes >/dev/null 2>&1 || true
  echo "$kind" >"$READY"
  register_env
  log "done"
}

create_in_background() {
  if building; then log "env build already running (pid $(cat "$PIDFILE")), log: $LOG"; return; fi
  mkdir -p "$(dirname "$ENV_PREFIX")"
  log "building the env in the background; follow it with: tail -f $LOG"
  nohup setsid "${BASH:-bash}" "$REPO/setup_kernel.sh" --create-now >>"$LOG" 2>&1 </dev/null &
  echo "$!" >"$PIDFILE"
}

install_jupytext() {
  local py="$JUPYTER_ENV/bin/python"
  [ -x "$py" ] || { log "no Jupyter server env at $JUPYTER_ENV: skipping jupytext"; return 1; }
  if [ "$("$py" -m jupytext --version 2>/dev/null)" = "${JUPYTEXT_PIN#jupytext==}" ]; then
    log "$JUPYTEXT_PIN already in $JUPYTER_ENV"
    return 1
  fi
  "$py" -m pip install --quiet "$JUPYTEXT_PIN" || { log "installing $JUPYTEXT_PIN failed"; return 1; }
  "$JUPYTER_ENV/bin/jupytext-config" set-default-viewer python || true
  log "$JUPYTEXT_PIN installed in $JUPYTER_ENV"
}

restart_jupyter() {
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
  "${sudo[@]}" systemctl --no-block restart jupyter-server.service
  log "jupyter-server restart requested"
}

on_start() {
  if ready; then register_env
  elif building; then log "env still building, the kernel appears when it is done; log: $LOG"
  else log "env missing or half-built at $ENV_PREFIX: rebuilding"; create_in_background
  fi
  if install_jupytext; then restart_jupyter; fi
}

print_lifecycle() {  # on-create | on-start
  local mode="--$1"
  cat <<EOF
#!/bin/bash
# seglab lifecycle ($1), printed by $REPO/setup_kernel.sh --print-lifecycle
set -eu
if [ ! -f "$REPO/setup_kernel.sh" ]; then
  echo "seglab: $REPO/setup_kernel.sh not found; clone the repository there" >&2
  exit 0
fi
/usr/bin/sudo -u ec2-user -i /bin/bash "$REPO/setup_kernel.sh" $mode
EOF
}

case "${1:-}" in
  "") if ready; then register_env; else create_env; fi ;;
  --create-now) trap 'rm -f "$PIDFILE"' EXIT; create_env ;;
  --on-create) if ready; then register_env; else create_in_background; fi ;;
  --on-start) on_start ;;
  --current-env)
    register_kernel "$(command -v "${PYTHON:-python3}")" "Python (seglab, current env)" ;;
  --print-lifecycle)
    case "${2:-both}" in
      on-create | on-start) print_lifecycle "$2" ;;
      both) echo "### on-create.sh"; print_lifecycle on-create
            echo "### on-start.sh"; print_lifecycle on-start ;;
      *) die "--print-lifecycle takes on-create or on-start, not '$2'" ;;
    esac ;;
  -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
  *) die "unknown option '$1' (see --help)" ;;
esac
