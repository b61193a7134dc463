#!/usr/bin/env python3
"""Whole-process benchmarks of redisctl, each beside the baseline it is measured against.

Usage: scripts/bench.py [--bin target/release/redisctl] [--runs N] [--only ROW]

Rows (medians of N runs, wall-clock, one process per run unless said otherwise):
  plan --env local          the repo's own project        vs  /bin/true (the cost of exec alone)
  validate --all            1,000 generated environments  vs  /bin/true
  render --all --out DIR    1,000 generated environments  vs  /bin/true
  one live setting          apply of a maxmemory change to a running standalone stack
                                                          vs  redis-cli CONFIG SET + CONFIG REWRITE
  standalone ready          apply of a new stack until it passes the readiness checks
                                                          vs  redis-server started by hand + PING
  primary + 2 replicas      the same                      vs  by hand, until both links are up
  Sentinel 1+1, 3 Sentinels the same                      vs  by hand, until every Sentinel
                                                              knows the replica and the others
  Cluster 3 x 1             the same                      vs  redis-cli --cluster create, until
                                                              cluster_state:ok on every node

Every server binds 127.0.0.1 on ports from 29000 up, cluster nodes from 19300 with their bus ports from 29300 (checked
free; below the ephemeral range), in a temporary directory
that is removed at the end, also when a run fails; stacks are destroyed after each run.
Standard library only; needs redis-server, redis-sentinel and redis-cli on PATH.
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, CATALOG_REDIS_PASSWORD="bench", CATALOG_REDIS_REPLICATION_PASSWORD="bench",
           CATALOG_REDIS_SENTINEL_PASSWORD="bench", CATALOG_REDIS_OPERATOR_PASSWORD="bench")


def run(cmd, cwd=None, check=True):
    done = subprocess.run(cmd, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if check and done.returncode not in (0, 2):
        sys.exit(f"bench: {' '.join(cmd)} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    return done


def timed(fn, runs, setup=None, teardown=None):
    times = []
    for _ in range(runs):
        if setup:
            setup()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if teardown:
            teardown()
    return statistics.median(times)


def free(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def ports(start, n):
    assert all(free(p) for p in range(start, start + n)), f"ports {start}..{start + n} are not free"
    return list(range(start, start + n))


def cli(port, *words):
    return subprocess.run(["redis-cli", "-p", str(port), *words], capture_output=True, text=True).stdout


def wait(cond, timeout=30):
    deadline = time.perf_counter() + timeout
    pause = 0.001
    while not cond():
        if time.perf_counter() > deadline:
            sys.exit("bench: a baseline stack did not become ready")
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def project(dir, topology, port, envs=1):
    """A project of `envs` environments (bench-0000...) of one topology, secrets in files."""
    os.makedirs(f"{dir}/environments", exist_ok=True)
    os.makedirs(f"{dir}/secrets", exist_ok=True)
    for s in ["app", "repl", "sentinel", "ops"]:
        with open(f"{dir}/secrets/{s}", "w") as f:
            f.write(f"bench-{s}\n")
    with open(f"{dir}/redisctl.yaml", "w") as f:
        f.write("""apiVersion: redisctl/v1
service: bench
redis: { version: "7.0", workload: cache, maxmemoryPolicy: allkeys-lru, config: { timeout: 300, tcp-keepalive: 60 } }
acl:
  users:
    - { name: app, password: { fromFile: secrets/app } }
    - { name: repl, role: replication, password: { fromFile: secrets/repl } }
    - { name: watcher, role: sentinel, password: { fromFile: secrets/sentinel } }
    - { name: ops, role: operator, password: { fromFile: secrets/ops } }
resources: { maxmemory: 64mb }
""")
    for i in range(envs):
        p = port + (i % 500) * 8
        with open(f"{dir}/environments/bench-{i:04}.yaml", "w") as f:
            f.write(f"topology: {topology}\nports: {{ redis: {p}, sentinel: {p + 4} }}\n")


# Every process a baseline started: killed at the end whatever happened.
STARTED = []


def hand_stack(dir, kind, base):
    """Start a stack by hand (the baseline) and return when it is ready; returns its processes."""
    procs = []

    def server(port, *extra, sentinel=False):
        d = f"{dir}/{port}"
        os.makedirs(d, exist_ok=True)
        conf = f"{d}/{'sentinel' if sentinel else 'redis'}.conf"
        with open(conf, "w") as f:
            f.write(f"bind 127.0.0.1\nport {port}\ndir {d}\nsave \"\"\nappendonly no\n" + "".join(e + "\n" for e in extra))
        binary = "redis-sentinel" if sentinel else "redis-server"
        procs.append(subprocess.Popen([binary, conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        STARTED.append(procs[-1])

    def info(port, field):
        return any(line.strip() == field for line in cli(port, "INFO").splitlines())

    if kind == "standalone":
        server(base)
        wait(lambda: cli(base, "PING").strip() == "PONG")
    elif kind == "replication":
        # The primary first: a replica that finds no primary retries a second later.
        server(base, "repl-diskless-sync-delay 0")
        wait(lambda: cli(base, "PING").strip() == "PONG")
        for p in (base + 1, base + 2):
            server(p, f"replicaof 127.0.0.1 {base}")
        wait(lambda: all(info(p, "master_link_status:up") for p in (base + 1, base + 2)))
    elif kind == "sentinel":
        server(base, "repl-diskless-sync-delay 0")
        wait(lambda: cli(base, "PING").strip() == "PONG")
        server(base + 1, f"replicaof 127.0.0.1 {base}")
        wait(lambda: info(base + 1, "master_link_status:up"))
        for s in range(3):
            server(base + 4 + s, f"sentinel monitor m 127.0.0.1 {base} 2", sentinel=True)

        def sentinels_ready():
            for s in range(3):
                reps = cli(base + 4 + s, "SENTINEL", "REPLICAS", "m")
                if "disconnected" in reps or "s_down" in reps or str(base + 1) not in reps:
                    return False
                if "OK" not in cli(base + 4 + s, "SENTINEL", "CKQUORUM", "m") or \
                        cli(base + 4 + s, "SENTINEL", "SENTINELS", "m").count("name") < 2:
                    return False
            return True
        wait(sentinels_ready)
    elif kind == "cluster":
        nodes = list(range(base, base + 6))
        for p in nodes:
            server(p, "cluster-enabled yes", f"cluster-config-file {dir}/{p}/nodes.conf")
        wait(lambda: all(cli(p, "PING").strip() == "PONG" for p in nodes))
        subprocess.run(["redis-cli", "--cluster", "create", *[f"127.0.0.1:{p}" for p in nodes],
                        "--cluster-replicas", "1", "--cluster-yes"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait(lambda: all("cluster_state:ok" in cli(p, "CLUSTER", "INFO") for p in nodes))
    return procs


def stop(procs, dir):
    for p in procs:
        p.kill()
    for p in procs:
        p.wait()
    shutil.rmtree(dir, ignore_errors=True)


TOPOLOGIES = {
    "standalone": "{ mode: standalone }",
    "replication": "{ mode: replication, replicas: 2 }",
    "sentinel": "{ mode: sentinel, replicas: 1, sentinels: 3 }",
    "cluster": "{ mode: cluster, shards: 3, replicasPerShard: 1 }",
}
LABELS = {
    "standalone": "standalone ready",
    "replication": "primary + 2 replicas ready",
    "sentinel": "Sentinel 1+1, 3 Sentinels ready",
    "cluster": "Cluster 3 x 1 ready",
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", f"{ROOT}/target"), "release/redisctl"))
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--only", help="run only rows whose name contains this")
    args = ap.parse_args()
    binary = os.path.realpath(args.bin)
    if not os.access(binary, os.X_OK):
        sys.exit(f"bench: {binary} not found: build it first (cargo build --release)")
    for tool in ["redis-server", "redis-sentinel", "redis-cli"]:
        if not shutil.which(tool):
            sys.exit(f"bench: {tool} is not on PATH (apt-get install redis-server)")
    work = tempfile.mkdtemp(prefix="redisctl-bench-")
    rows = []

    def row(name, ours, base_name, base):
        ratio = ours / base if base else float("nan")
        rows.append((name, ours, base_name, base, ratio))
        print(f"{name:34} {ours * 1000:9.1f} ms   {base_name:32} {base * 1000:9.1f} ms   {ratio:5.2f}x", flush=True)

    def wanted(name):
        return not args.only or args.only in name

    print(f"{'case':34} {'redisctl':>12}   {'baseline':32} {'':>12}   ratio")
    try:
        true = timed(lambda: run(["/bin/true"]), args.runs)
        # The schema cache (src/contract/known_valid.rs) lives in the work directory: warm after
        # the first run, as on a laptop; the second row turns it off (a fresh CI machine).
        ENV["XDG_CACHE_HOME"] = f"{work}/cache"
        if wanted("plan"):
            ours = timed(lambda: run([binary, "--project", ROOT, "plan", "--env", "local"]), args.runs)
            row("plan --env local", ours, "/bin/true", true)
            ENV["REDISCTL_NO_CACHE"] = "1"
            ours = timed(lambda: run([binary, "--project", ROOT, "plan", "--env", "local"]), args.runs)
            row("plan --env local, no schema cache", ours, "/bin/true", true)
            del ENV["REDISCTL_NO_CACHE"]
        many = f"{work}/many"
        project(many, TOPOLOGIES["replication"], 40000, envs=1000)
        if wanted("validate"):
            ours = timed(lambda: run([binary, "--project", many, "validate", "--all"]), args.runs)
            row("validate --all (1,000 envs)", ours, "/bin/true", true)
        if wanted("render"):
            out = f"{work}/rendered"
            ours = timed(lambda: run([binary, "--project", many, "render", "--all", "--out", out]), max(3, args.runs // 3))
            row("render --all (1,000 envs)", ours, "/bin/true", true)
        for kind, topo in TOPOLOGIES.items():
            if not wanted(LABELS[kind]) and not (kind == "standalone" and wanted("live")):
                continue
            if kind == "cluster":
                # A cluster node also binds its bus port, 10000 above its own: 19300 keeps both ranges
                # below the kernel's ephemeral ports, where a client connection can hold them.
                base = ports(19300, 50)[0]
                ports(base + 10000, 50)
            else:
                base = ports(29000 + list(TOPOLOGIES).index(kind) * 100, 10)[0]
            dir = f"{work}/{kind}"
            project(dir, topo, base)
            env = "bench-0000"
            apply = [binary, "--project", dir, "apply", "--env", env, "--auto-approve"]
            destroy = [binary, "--project", dir, "destroy", "--env", env, "--auto-approve", "--purge-data"]
            runs = max(3, args.runs // (3 if kind == "cluster" else 1))
            if wanted(LABELS[kind]):
                ours = timed(lambda: run(apply), runs, teardown=lambda: run(destroy, check=False))
                hand_dir = f"{work}/hand-{kind}"
                procs = []

                def by_hand():
                    procs.extend(hand_stack(hand_dir, kind, base + 20 if kind != "cluster" else base + 40))

                def clean():
                    stop(procs, hand_dir)
                    procs.clear()
                theirs = timed(by_hand, runs, teardown=clean)
                label = "redis-cli --cluster create" if kind == "cluster" else "by hand (redis-server + redis-cli)"
                row(LABELS[kind], ours, label, theirs)
            if kind == "standalone" and wanted("live"):
                run(apply)
                conf = f"{dir}/redisctl.yaml"
                sizes = iter(["96mb", "64mb"] * args.runs)

                def flip():
                    with open(conf) as f:
                        text = f.read()
                    new = next(sizes)
                    with open(conf, "w") as f:
                        f.write(text.replace("maxmemory: 64mb", f"maxmemory: {new}").replace("maxmemory: 96mb", f"maxmemory: {new}"))
                ours = timed(lambda: run(apply), args.runs, setup=flip)
                run(destroy, check=False)
                hand = ports(base + 30, 1)[0]
                procs = hand_stack(f"{work}/hand-live", "standalone", hand)
                values = iter(["100663296", "67108864"] * args.runs)
                theirs = timed(lambda: (cli(hand, "CONFIG", "SET", "maxmemory", next(values)), cli(hand, "CONFIG", "REWRITE")), args.runs)
                stop(procs, f"{work}/hand-live")
                row("one live setting", ours, "redis-cli CONFIG SET + REWRITE", theirs)
    finally:
        for p in STARTED:
            p.kill()
        for kind in TOPOLOGIES:
            dir = f"{work}/{kind}"
            if os.path.isdir(dir):
                run([binary, "--project", dir, "destroy", "--env", "bench-0000", "--auto-approve", "--purge-data"], check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
