#!/usr/bin/env bash
# The nightly job as a plain shell recipe, for CI systems other than GitHub Actions (Jenkins, GitLab,
# Buildkite, cron): run every nemesis given (or a default set), keep each results directory, and exit
#   0 every run valid, 1 some run found anomalies, 2 some run could not do its job (and none found anomalies).
#
#   examples/ci/nightly.sh [NEMESIS ...]
#
# Environment: TIME_LIMIT (seconds per run, 300), KAFKA_VERSION (the harness's default), SEED (default: today's date),
# RESULTS (results root, results/), IMAGE_CACHE (directory of saved node images; point it at your CI
# cache). Run as root on a Debian machine: it installs what is missing and starts dockerd if needed.
# Point your CI's artifact step at $RESULTS/nightly-*/ and its JUnit step at $RESULTS/nightly-*/*/junit.xml.
set -uo pipefail
cd "$(dirname "$0")/../.."

TIME_LIMIT=${TIME_LIMIT:-300}
SEED=${SEED:-$(date +%Y%m%d)}
RESULTS=${RESULTS:-results}
IMAGE_CACHE=${IMAGE_CACHE:-$HOME/.cache/kafka-jepsen/images}
if (($#)); then
  nemeses=("$@")
else
  nemeses=(partition-dc partition-leader partition-controller bridge kill-leader kill-dc pause-leader clock-skew)
fi

say() { echo "nightly: $*" >&2; }

make deps docker >&2 || { say "could not install the dependencies or start the engine"; exit 2; }
harness=.venv/bin/harness
KAFKA_VERSION=${KAFKA_VERSION:-$(.venv/bin/python -c "from core import kafka_versions; print(kafka_versions.DEFAULT)")} \
  || exit 2

# The node image's tag is a hash of its recipe (infra/compose/, the Kafka version): one saved archive per tag.
tag=$(.venv/bin/python -c "from infra import image; print(image.kafka_tag('$KAFKA_VERSION'))") || exit 2
archive=$IMAGE_CACHE/${tag//:/_}.tar.gz
if ! docker image inspect "$tag" >/dev/null 2>&1 && [[ -f $archive ]]; then
  say "loading $tag from $archive"
  gunzip -c "$archive" | docker load >&2 || rm -f "$archive"
fi
"$harness" image --kafka-version "$KAFKA_VERSION" >/dev/null || { say "building the node image failed"; exit 2; }
if [[ ! -f $archive ]]; then
  mkdir -p "$IMAGE_CACHE"
  docker save "$tag" | gzip -1 > "$archive.tmp" && mv "$archive.tmp" "$archive"
fi

anomalies=0 errors=0
for nemesis in "${nemeses[@]}"; do
  say "running $nemesis for ${TIME_LIMIT}s (seed $SEED)"
  "$harness" run --nemesis "$nemesis" --time-limit "$TIME_LIMIT" --seed "$SEED" --kafka-version "$KAFKA_VERSION" \
    --results-dir "$RESULTS" --test-name "nightly-$nemesis"
  code=$?
  "$harness" report "$RESULTS/latest" >/dev/null 2>&1 || true # idempotent; covers a run that stopped early
  case $code in
    0) ;;
    1) anomalies=$((anomalies + 1)) ;;
    *) errors=$((errors + 1)) ;;
  esac
done
# No `harness clean` here: each run tears itself down (also on error and SIGTERM), and a global clean
# would end other runs sharing this engine.

"$harness" runs --results-dir "$RESULTS" --limit "${#nemeses[@]}" >&2
say "${#nemeses[@]} runs: $anomalies found anomalies, $errors could not finish"
((anomalies)) && exit 1
((errors)) && exit 2
exit 0
