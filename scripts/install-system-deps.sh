#!/usr/bin/env bash
# Install the Debian packages the harness needs on the machine that runs it, only those missing:
# debootstrap (offline base image), maven + a JDK (Kafka jars from Maven Central), python3-venv,
# chromium (the report's browser test), and gcc + libnetfilter-queue-dev (to build NetfilterQueue, the
# userspace WAN delayer used where the kernel has no sch_netem), docker-compose (`harness compose`'s test),
# fuse3 + libfuse3-3 (fusermount3 and the library under the durable filesystem, infra/durable_fs).
# The Docker engine is scripts/ensure-docker.sh's job.
set -euo pipefail

wanted=(debootstrap maven python3-venv iptables chromium gcc libnetfilter-queue-dev docker-compose fuse3 libfuse3-3)
command -v java >/dev/null 2>&1 || wanted+=(default-jdk-headless)
missing=()
for package in "${wanted[@]}"; do
  # A tool already on PATH (e.g. Maven installed by hand) counts as present.
  case $package in
    maven) command -v mvn >/dev/null 2>&1 && continue ;;
    debootstrap) command -v debootstrap >/dev/null 2>&1 && continue ;;
    chromium) command -v chromium >/dev/null 2>&1 && continue ;;
    gcc) command -v gcc >/dev/null 2>&1 && continue ;;
    docker-compose) command -v docker-compose >/dev/null 2>&1 && continue ;;
    python3-venv) python3 -c 'import venv, ensurepip' >/dev/null 2>&1 && continue ;;
  esac
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
((${#missing[@]})) || exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "install-system-deps: missing Debian packages ${missing[*]}; install them as root" >&2
  exit 2
fi
echo "install-system-deps: installing ${missing[*]}" >&2
apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
