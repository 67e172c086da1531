#!/usr/bin/env bash
# Installs the Debian 12 packages snakepit needs, but only those missing, so a
# second `make test` costs one dpkg-query. Uses sudo when not root.
set -euo pipefail

packages=(
  g++ make cmake ninja-build
  libcaf-dev libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libfmt-dev doctest-dev librapidcheck-dev libsqlite3-dev libspdlog-dev libcli11-dev
  nlohmann-json3-dev
  python3 python3-grpcio python3-protobuf python3-pytest python3-numpy
  procps
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "installing Debian packages: ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
