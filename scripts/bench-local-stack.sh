#!/usr/bin/env bash
# Time from `apply` to a really ready local stack, per topology, and of a one-setting live apply.
# Usage: scripts/bench-local-stack.sh [path/to/redisctl]   (default: target/release/redisctl)
# Everything binds 127.0.0.1; every stack is destroyed at the end, even on failure.
set -euo pipefail
bin=${1:-target/release/redisctl}
[ -x "$bin" ] || { echo "build it first: cargo build --release" >&2; exit 1; }
bin=$(realpath "$bin")
work=$(mktemp -d)
cleanup() { for p in "$work"/*/; do "$bin" --project "$p" destroy --env bench --auto-approve >/dev/null 2>&1 || true; done; rm -rf "$work"; }
trap cleanup EXIT

now() { date +%s.%N; }
project() { # name topology port
  local dir="$work/$1"; mkdir -p "$dir/environments" "$dir/secrets"
  for s in app repl sentinel ops; do echo "bench-$s" > "$dir/secrets/$s"; done
  cat > "$dir/redisctl.yaml" <<YAML
apiVersion: redisctl/v1
service: bench
redis: { version: "7.0", workload: cache, maxmemoryPolicy: allkeys-lru, config: { timeout: 300, tcp-keepalive: 60 } }
acl:
  users:
    - { name: app, password: { fromFile: secrets/app } }
    - { name: repl, role: replication, password: { fromFile: secrets/repl } }
    - { name: watcher, role: sentinel, password: { fromFile: secrets/sentinel } }
    - { name: ops, role: operator, password: { fromFile: secrets/ops } }
resources: { maxmemory: 64mb }
YAML
  printf 'topology: %s\nports: { redis: %s, sentinel: %s }\n' "$2" "$3" $(( $3 + 100 )) > "$dir/environments/bench.yaml"
  echo "$dir"
}

printf '%-34s %s\n' "topology" "apply → ready (s)"
for spec in "standalone|{ mode: standalone }|31000" \
            "replication (1+2)|{ mode: replication, replicas: 2 }|31200" \
            "sentinel (1+1, 3 sentinels)|{ mode: sentinel, replicas: 1, sentinels: 3 }|31400" \
            "cluster (3x1)|{ mode: cluster, shards: 3, replicasPerShard: 1 }|31600"; do
  IFS='|' read -r name topo port <<<"$spec"
  dir=$(project "p$port" "$topo" "$port")
  t0=$(now); "$bin" --project "$dir" apply --env bench --auto-approve >/dev/null 2>&1; t1=$(now)
  printf '%-34s %.2f\n' "$name" "$(awk "BEGIN { print $t1 - $t0 }")"
done

dir="$work/p31000"
sed -i 's/maxmemory: 64mb/maxmemory: 96mb/' "$dir/redisctl.yaml"
t0=$(now); "$bin" --project "$dir" apply --env bench --auto-approve >/dev/null 2>&1; t1=$(now)
printf '%-34s %.3f\n' "one-setting live apply (standalone)" "$(awk "BEGIN { print $t1 - $t0 }")"
