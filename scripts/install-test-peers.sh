#!/usr/bin/env bash
# Install the real peers the target tests validate rendered files with:
#   systemd-analyze (package systemd)      systemd units
#   redis-server                            rendered redis.conf files load
#   docker-compose (Debian, v1, no engine)  compose.yaml (`config -q`)
#   check-jsonschema (PyPI)                 compose.yaml against the compose-spec schema
#   kubernetes-validate (PyPI)              Kubernetes manifests (--strict -k 1.29.0)
#   moto_server (PyPI moto[server])         the AWS ElastiCache API for `target: elasticache`
#   google-api-python-client, google-cloud-redis(-cluster), googleapis-common-protos (PyPI, files only)
#                                           the published Memorystore API description (discovery
#                                           document, proto enums) tests/peers/memorystore_peer.py checks with
#   google-cloud-memorystore (PyPI, files only)  the same for Memorystore for Valkey, which has no
#                                           discovery document there: its generated REST routes and types
#   yaml-language-server (npm)              the editor experience of the schemas, over LSP
#   prometheus, promtool (package prometheus)  rendered alert rules: `promtool check/test rules`,
#                                               and a real Prometheus evaluating them end to end
#   prometheus-redis-exporter                   the exporter each node runs, scraped end to end
# Python tools go into .venv-peers/ at the repository root (gitignored). Idempotent: runs
# apt-get only for what is missing and pip only when a tool is missing or the pins changed.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

need_apt=()
command -v systemd-analyze >/dev/null || need_apt+=(systemd)
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v docker-compose >/dev/null || need_apt+=(docker-compose)
command -v promtool >/dev/null || need_apt+=(prometheus)
command -v prometheus-redis-exporter >/dev/null || need_apt+=(prometheus-redis-exporter)
python3 -m venv --help >/dev/null 2>&1 || need_apt+=(python3-venv)
command -v npm >/dev/null || need_apt+=(npm)
if ((${#need_apt[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# Pinned so that a new schema bundle cannot change test results unnoticed.
pins="check-jsonschema==0.39.0 kubernetes-validate==1.37.0 moto[server]==5.2.5"
# Read as data by the Memorystore peer, never imported: installed without their dependencies.
data_pins="google-api-python-client==2.202.0 google-cloud-redis==2.23.0 google-cloud-redis-cluster==0.5.6 googleapis-common-protos==1.76.0 google-cloud-memorystore==0.5.6"
venv=.venv-peers
if [ ! -x "$venv/bin/check-jsonschema" ] || [ ! -x "$venv/bin/kubernetes-validate" ] || [ ! -x "$venv/bin/moto_server" ] || [ "$(cat "$venv/.pins" 2>/dev/null)" != "$pins $data_pins" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check $pins
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps $data_pins
  echo "$pins $data_pins" > "$venv/.pins"
fi
# yaml-language-server (npm) for the editor test, into .node-peers/ (gitignored), pinned.
yls=1.25.0
if [ "$(cat .node-peers/.pin 2>/dev/null)" != "$yls" ]; then
  npm install --silent --no-audit --no-fund --prefix .node-peers "yaml-language-server@$yls" >/dev/null
  echo "$yls" > .node-peers/.pin
fi
echo "test peers ready: $(command -v docker-compose), $venv/bin/check-jsonschema, $venv/bin/kubernetes-validate, $venv/bin/moto_server"
