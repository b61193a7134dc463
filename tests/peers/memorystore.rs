//! `target: memorystore` end to end: the real binary, through Google's official Rust clients,
//! against the local Memorystore API peer (tests/peers/memorystore_peer.py), whose checking
//! comes from Google's published API descriptions: the discovery document and proto enums for
//! redis.googleapis.com (the revision is printed), the generated client `google-cloud-memorystore`
//! for memorystore.googleapis.com (Valkey; the version is printed).

use crate::common::memorystore::{prod, Peer, BASE};
use crate::common::{redisctl_std, wait_for, KillOnDrop, Run, TempProject};

/// The AUTH string of the tests' own secret reference (what an operator would export after
/// `gcloud redis instances get-auth-string`); the peer generates its own as well.
const AUTH_STRING: &str = "gcp-auth-String-5e1f0c3d9a7b";

struct Env {
    project: TempProject,
    peer: Peer,
    outputs: Vec<String>,
}

/// The variables of every run: the peer's endpoint, fast polling, the AUTH string reference.
fn environment(peer: &Peer) -> Vec<(&'static str, String)> {
    vec![
        ("REDISCTL_MEMORYSTORE_ENDPOINT", peer.url.clone()),
        ("REDISCTL_MEMORYSTORE_POLL_MS", "20".into()),
        ("CATALOG_AUTH_STRING", AUTH_STRING.into()),
        // No Application Default Credentials on this machine: the local endpoint needs none.
        ("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent".into()),
    ]
}

impl Env {
    fn new(overlay: &str) -> Env {
        Env::with_peer(overlay, Peer::start())
    }

    fn with_peer(overlay: &str, peer: Peer) -> Env {
        let project = TempProject::new(&[("redisctl.yaml", BASE), ("environments/prod.yaml", overlay)]);
        Env { project, peer, outputs: Vec::new() }
    }

    fn run(&mut self, args: &[&str]) -> Run {
        let mut cmd = self.project.cmd();
        cmd.args(args).envs(environment(&self.peer)).env_remove("GOOGLE_CLOUD_PROJECT");
        let run = Run::of(&mut cmd);
        self.outputs.push(run.stdout.clone());
        self.outputs.push(run.stderr.clone());
        run
    }

    fn plan_json(&mut self) -> serde_json::Value {
        let run = self.run(&["plan", "--env", "prod", "--format", "json"]);
        run.assert_code(0);
        let plan: serde_json::Value =
            serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("plan JSON: {e}\n{}", run.show()));
        let errors = crate::common::plan_schema_errors(&plan);
        assert!(errors.is_empty(), "{errors:?}\n{plan:#}");
        plan
    }
}

fn changes(plan: &serde_json::Value) -> Vec<(String, String)> {
    plan["resource_changes"]
        .as_array()
        .or_else(|| plan["changes"].as_array())
        .expect("changes in the plan JSON")
        .iter()
        .filter(|c| c["address"].as_str().unwrap_or("").starts_with("memorystore:"))
        .map(|c| (c["address"].as_str().unwrap().to_string(), c["change"]["actions"].to_string()))
        .collect()
}

/// One request to the peer as a client would send it: the status and the JSON answer.
fn send(peer: &Peer, verb: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
    use std::io::{Read, Write};
    let host = peer.url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(
        s,
        "{verb} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let code = answer.split(' ').nth(1).unwrap().parse().unwrap();
    (code, serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap_or("")).unwrap_or_default())
}

/// The PEM Google serves at `path` (a `certificateAuthority` resource), chains concatenated.
fn google_ca(peer: &Peer, path: &str) -> String {
    let (code, ca) = send(peer, "GET", path, "");
    assert_eq!(code, 200, "{path}: {ca}");
    let chains = ca["managedServerCa"]["caCerts"].as_array().unwrap();
    let pem: String =
        chains.iter().flat_map(|c| c["certificates"].as_array().unwrap()).map(|c| c.as_str().unwrap()).collect();
    assert!(pem.contains("BEGIN CERTIFICATE"), "{ca}");
    pem
}

/// The contents of the CA file `connect` named.
fn ca_file(connect: &serde_json::Value) -> String {
    let path = connect["tls"]["caFile"].as_str().unwrap_or_else(|| panic!("no CA file: {connect:#}"));
    std::fs::read_to_string(path).unwrap()
}

/// The AUTH strings the peer generated (it serves them on `GET …/authString` only).
fn peer_auth_strings(peer: &Peer, instance: &str) -> Vec<String> {
    let (_, v) = send(peer, "GET", &format!("/v1/{instance}/authString"), "");
    v["authString"].as_str().map(String::from).into_iter().filter(|s| !s.is_empty()).collect()
}

#[test]
fn memorystore_instance_is_created_changed_and_deleted_through_the_api() {
    let mut env = Env::new(&prod(""));
    let name = "projects/shop-prod-4711/locations/europe-west1/instances/catalog-prod";

    // From nothing: changes present (exit 2), one instance to create.
    let run = env.run(&["plan", "--env", "prod", "--detailed-exitcode"]);
    run.assert_code(2);
    assert!(run.stdout.contains("+ memorystore:instance/catalog-prod"), "{}", run.show());
    let plan = env.plan_json();
    assert_eq!(changes(&plan), vec![("memorystore:instance/catalog-prod".into(), "[\"create\"]".into())], "{plan:#}");

    let run = env.run(&["-vv", "apply", "--env", "prod", "--auto-approve"]);
    run.assert_code(0);
    assert!(run.stderr.contains("CreateInstance catalog-prod done"), "progress is logged\n{}", run.show());
    let creates: Vec<_> = env.peer.mutations();
    assert_eq!(creates.len(), 1, "{creates:#?}");
    assert_eq!(creates[0]["method"], "POST");
    assert_eq!(creates[0]["path"], "/v1/projects/shop-prod-4711/locations/europe-west1/instances");
    assert_eq!(creates[0]["query"]["instanceId"], "catalog-prod");
    // Enums travel as proto numbers (STANDARD_HA is 3): the peer decoded them from Google's protos.
    assert_eq!(creates[0]["body"]["tier"], 3, "{:#}", creates[0]);
    assert_eq!(creates[0]["body"]["redisConfigs"]["maxmemory-policy"], "allkeys-lru");
    // The operation was polled until done.
    assert!(env.peer.requests().iter().any(|r| r["path"].as_str().unwrap().contains("/operations/")));

    // Applied: nothing left to do.
    let run = env.run(&["plan", "--env", "prod", "--detailed-exitcode"]);
    run.assert_code(0);
    assert!(run.stdout.contains("No changes"), "{}", run.show());

    // One redisConfigs entry: exactly one PATCH, with that mask and that entry.
    let before = env.peer.mutations().len();
    env.project.write("environments/prod.yaml", prod("redis: { config: { activedefrag: \"yes\" } }\n"));
    let plan = env.plan_json();
    assert_eq!(
        changes(&plan),
        vec![("memorystore:config/catalog-prod/activedefrag".into(), "[\"update\"]".into())],
        "{plan:#}"
    );
    env.run(&["apply", "--env", "prod", "--auto-approve"]).assert_code(0);
    let patches: Vec<_> = env.peer.mutations().split_off(before);
    assert_eq!(patches.len(), 1, "{patches:#?}");
    assert_eq!(patches[0]["method"], "PATCH");
    assert_eq!(patches[0]["path"], format!("/v1/{name}"));
    assert_eq!(patches[0]["query"]["updateMask"], "redisConfigs");
    assert_eq!(patches[0]["body"]["redisConfigs"]["activedefrag"], "yes");
    env.run(&["plan", "--env", "prod", "--detailed-exitcode"]).assert_code(0);

    // Memory and labels change in place: one PATCH naming both fields.
    let before = env.peer.mutations().len();
    let overlay = prod("  labels: { team: catalog }\nredis: { config: { activedefrag: \"yes\" } }\n")
        .replace("memorySizeGb: 5", "memorySizeGb: 6");
    env.project.write("environments/prod.yaml", &overlay);
    let plan = env.plan_json();
    assert_eq!(changes(&plan), vec![("memorystore:instance/catalog-prod".into(), "[\"update\"]".into())], "{plan:#}");
    // Through a saved plan, as a pull request workflow applies it.
    let plan_file = env.project.path().join("resize.plan");
    env.run(&["plan", "--env", "prod", "--out", plan_file.to_str().unwrap()]).assert_code(0);
    env.run(&["apply", plan_file.to_str().unwrap()]).assert_code(0);
    let patches: Vec<_> = env.peer.mutations().split_off(before);
    assert_eq!(patches.len(), 1, "{patches:#?}");
    assert_eq!(patches[0]["query"]["updateMask"], "labels,memorySizeGb");
    assert_eq!(patches[0]["body"]["memorySizeGb"], 6);
    env.run(&["plan", "--env", "prod", "--detailed-exitcode"]).assert_code(0);

    // An entry the contract drops is removed: one PATCH of the map without it.
    let before = env.peer.mutations().len();
    env.project.write(
        "environments/prod.yaml",
        prod("  labels: { team: catalog }\n").replace("memorySizeGb: 5", "memorySizeGb: 6"),
    );
    let plan = env.plan_json();
    assert_eq!(
        changes(&plan),
        vec![("memorystore:config/catalog-prod/activedefrag".into(), "[\"delete\"]".into())],
        "{plan:#}"
    );
    env.run(&["apply", "--env", "prod", "--auto-approve"]).assert_code(0);
    let patches: Vec<_> = env.peer.mutations().split_off(before);
    assert_eq!(patches.len(), 1, "{patches:#?}");
    assert_eq!(patches[0]["query"]["updateMask"], "redisConfigs");
    assert_eq!(patches[0]["body"]["redisConfigs"], serde_json::json!({ "maxmemory-policy": "allkeys-lru" }));
    env.run(&["plan", "--env", "prod", "--detailed-exitcode"]).assert_code(0);
    env.project.write("environments/prod.yaml", &overlay);
    env.run(&["apply", "--env", "prod", "--auto-approve"]).assert_code(0);

    // Connect: the instance's host and TLS port, the server CA Google issued, the AUTH string's reference.
    let run = env.run(&["connect", "--env", "prod", "--format", "json"]);
    run.assert_code(0);
    let connect: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(connect["mode"], "managed-single-endpoint", "{connect:#}");
    assert_eq!(connect["endpoints"][0], "10.0.0.3:6378", "{connect:#}");
    assert_eq!(connect["tls"]["enabled"], true);
    let ca = connect["tls"]["caFile"].as_str().expect("a CA file");
    assert!(std::fs::read_to_string(ca).unwrap().contains("BEGIN CERTIFICATE"));
    assert_eq!(connect["passwordRef"]["fromEnv"], "CATALOG_AUTH_STRING", "{connect:#}");

    // A version upgrade is `:upgrade`.
    let before = env.peer.mutations().len();
    let upgraded = overlay.clone();
    env.project.write("redisctl.yaml", BASE.replace("\"7.0\"", "\"7.2\""));
    env.project.write("environments/prod.yaml", &upgraded);
    let plan = env.plan_json();
    assert_eq!(
        changes(&plan),
        vec![("memorystore:instance/catalog-prod/version".into(), "[\"update\"]".into())],
        "{plan:#}"
    );
    env.run(&["apply", "--env", "prod", "--auto-approve"]).assert_code(0);
    let upgrades: Vec<_> = env.peer.mutations().split_off(before);
    assert_eq!(upgrades.len(), 1, "{upgrades:#?}");
    assert_eq!(upgrades[0]["path"], format!("/v1/{name}:upgrade"));
    assert_eq!(upgrades[0]["body"], serde_json::json!({ "redisVersion": "REDIS_7_2" }));

    // The network cannot change in place: a destructive replacement, refused without --allow-destroy.
    let moved = upgraded.replace("gcp:\n", "gcp:\n  network: projects/shop-prod-4711/global/networks/private\n");
    env.project.write("environments/prod.yaml", &moved);
    let run = env.run(&["plan", "--env", "prod"]);
    assert!(run.stdout.contains("-/+ memorystore:instance/catalog-prod"), "{}", run.show());
    assert!(run.stdout.contains("authorizedNetwork"), "{}", run.show());
    let before = env.peer.mutations().len();
    let run = env.run(&["apply", "--env", "prod", "--auto-approve"]);
    run.assert_code(1);
    assert!(run.stderr.contains("--allow-destroy"), "{}", run.show());
    assert_eq!(env.peer.mutations().len(), before, "nothing was sent");
    env.project.write("environments/prod.yaml", &upgraded);

    // Destroy deletes the data: refused without --allow-destroy, then done.
    let run = env.run(&["destroy", "--env", "prod", "--auto-approve"]);
    run.assert_code(1);
    assert!(run.stderr.contains("--allow-destroy"), "{}", run.show());
    env.run(&["destroy", "--env", "prod", "--auto-approve", "--allow-destroy"]).assert_code(0);
    assert_eq!(env.peer.mutations().last().unwrap()["method"], "DELETE");
    let run = env.run(&["plan", "--env", "prod", "--detailed-exitcode"]);
    run.assert_code(2);
    assert!(run.stdout.contains("+ memorystore:instance/catalog-prod"), "{}", run.show());

    // No AUTH string — ours or one the peer generated — in any output, the state or the document.
    let generated = {
        env.run(&["apply", "--env", "prod", "--auto-approve"]).assert_code(0);
        peer_auth_strings(&env.peer, name)
    };
    assert_eq!(generated.len(), 1, "the peer generated an AUTH string");
    env.run(&["-vv", "plan", "--env", "prod", "--format", "json"]).assert_code(0);
    env.run(&["-vv", "plan", "--env", "prod", "--format", "markdown"]).assert_code(0);
    env.run(&["render", "--env", "prod", "--out", "-"]).assert_code(0);
    let state = env.project.read("deploy/prod/.redisctl-state.json");
    let document = env.project.read("deploy/prod/memorystore/requests.yaml");
    for secret in generated.iter().map(String::as_str).chain([AUTH_STRING]) {
        for text in env.outputs.iter().chain([&state, &document]) {
            assert!(!text.contains(secret), "an AUTH string leaked:\n{text}");
        }
    }
    // Nothing the peer received carried one either.
    let sent = std::fs::read_to_string(&env.peer.log).unwrap();
    assert!(!sent.contains(AUTH_STRING));
}

#[test]
fn memorystore_peer_refuses_what_the_discovery_document_does_not_describe() {
    let peer = Peer::start();
    assert!(peer.source.contains("redis:v1 discovery revision"), "{}", peer.source);
    let post = |path: &str, body: &str| send(&peer, "POST", path, body);
    let parent = "/v1/projects/p-4711/locations/europe-west1/instances";
    // An unknown field: Google's INVALID_ARGUMENT, naming it.
    let (code, answer) =
        post(&format!("{parent}?instanceId=a1"), r#"{"tier":"BASIC","memorySizeGb":1,"maxmemoryGb":1}"#);
    assert_eq!(code, 400, "{answer}");
    assert_eq!(answer["error"]["status"], "INVALID_ARGUMENT");
    assert!(answer["error"]["message"].as_str().unwrap().contains("Unknown name \"maxmemoryGb\""), "{answer}");
    // An enum value the API does not have, by name and by number.
    let (code, answer) = post(&format!("{parent}?instanceId=a1"), r#"{"tier":"PREMIUM","memorySizeGb":1}"#);
    assert_eq!(code, 400, "{answer}");
    let (code, _) =
        post(&format!("{parent}?instanceId=a1&$alt=json;enum-encoding=int"), r#"{"tier":2,"memorySizeGb":1}"#);
    assert_eq!(code, 400, "2 is not a Tier number (BASIC is 1, STANDARD_HA 3)");
    // A required field missing, an unknown query parameter, a route that does not exist.
    assert_eq!(post(&format!("{parent}?instanceId=a1"), r#"{"tier":"BASIC"}"#).0, 400);
    assert_eq!(post(&format!("{parent}?instanceId=a1&force=true"), r#"{"tier":"BASIC","memorySizeGb":1}"#).0, 400);
    assert_eq!(post("/v1/projects/p-4711/locations/europe-west1/caches", "{}").0, 404);
    // An updateMask path that is output only (or no field at all).
    // (A body the document allows: only the mask is wrong.)
    let patch = |mask: &str| {
        let (code, answer) = send(&peer, "PATCH", &format!("{parent}/a1?updateMask={mask}"), r#"{"displayName":"x"}"#);
        assert!(answer["error"]["message"].as_str().unwrap_or("").contains("field mask"), "{answer}");
        code
    };
    // What the document describes is accepted.
    let (code, answer) = post(&format!("{parent}?instanceId=a1"), r#"{"tier":"BASIC","memorySizeGb":1}"#);
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["done"], false, "a long-running operation");
    assert_eq!(patch("host"), 400, "host is output only");
    assert_eq!(patch("hostname"), 400, "no such field");
}

/// Start an apply and kill it right after its create request reached the API (it polls once a
/// minute, so the operation is still running).
fn interrupt_apply_after_its_create(env: &Env) {
    let mut child = KillOnDrop(
        redisctl_std()
            .current_dir(env.project.path())
            .args(["apply", "--env", "prod", "--auto-approve"])
            .envs(environment(&env.peer))
            .env("REDISCTL_MEMORYSTORE_POLL_MS", "60000")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("the create request", std::time::Duration::from_secs(30), || {
        if env.peer.mutations().iter().any(|r| r["method"] == "POST") {
            Ok(())
        } else {
            Err("not yet".into())
        }
    });
    child.kill().unwrap();
    child.wait().unwrap();
}

/// After an interrupted create, `memorystore:instance/catalog-prod` is still being created: the
/// plan says apply waits for it, and apply does — no second create — and converges.
fn assert_resumed(env: &mut Env) {
    let run = env.run(&["plan", "--env", "prod"]);
    assert!(run.stdout.contains("~ memorystore:instance/catalog-prod"), "{}", run.show());
    assert!(run.stdout.contains("is CREATING"), "{}", run.show());
    env.run(&["apply", "--env", "prod", "--auto-approve"]).assert_code(0);
    assert_eq!(env.peer.mutations().len(), 1, "resumed, not created twice");
    env.run(&["plan", "--env", "prod", "--detailed-exitcode"]).assert_code(0);
}

#[test]
fn memorystore_interrupted_apply_is_resumed_and_waits_are_bounded() {
    // Operations take 2 s at the peer, whoever polls.
    let mut env = Env::with_peer(&prod(""), Peer::settling(2.0));

    interrupt_apply_after_its_create(&env);

    assert_resumed(&mut env);

    // An operation that takes longer than --wait-timeout: apply fails and says where it stands.
    env.project.write("environments/prod.yaml", prod("").replace("memorySizeGb: 5", "memorySizeGb: 6"));
    let run = env.run(&["apply", "--env", "prod", "--auto-approve", "--wait-timeout", "1s"]);
    run.assert_code(1);
    assert!(run.stderr.contains("not done after 1s"), "{}", run.show());
    // It went on at Google: once done, nothing is left to do.
    std::thread::sleep(std::time::Duration::from_secs(2));
    env.run(&["plan", "--env", "prod", "--detailed-exitcode"]).assert_code(0);
}

#[test]
fn memorystore_redis_cluster_is_created_resharded_and_deleted_through_the_api() {
    let base = BASE.replace("\"7.0\"", "\"7.2\"");
    let cluster = |shards: u32, network: &str| {
        prod("keyspace: { clusterSafe: true }\n")
            .replace(
                "topology: { mode: replication, replicas: 1 }",
                &format!("topology: {{ mode: cluster, shards: {shards}, replicasPerShard: 1 }}"),
            )
            .replace(
                "  memorySizeGb: 5\n",
                &format!(
                    "  product: redis-cluster\n  nodeType: REDIS_HIGHMEM_MEDIUM\n  network: projects/shop-prod-4711/global/networks/{network}\n"
                ),
            )
            .replace("  authString: { fromEnv: CATALOG_AUTH_STRING }\n", "")
    };
    let mut env = Env::new(&cluster(3, "default"));
    env.project.write("redisctl.yaml", &base);
    let name = "projects/shop-prod-4711/locations/europe-west1/clusters/catalog-prod";

    env.run(&["plan", "--env", "prod", "--detailed-exitcode"]).assert_code(2);
    let plan = env.plan_json();
    assert_eq!(changes(&plan), vec![("memorystore:cluster/catalog-prod".into(), "[\"create\"]".into())], "{plan:#}");
    env.run(&["apply", "--env", "prod", "--auto-approve"]).assert_code(0);
    let creates = env.peer.mutations();
    assert_eq!(creates.len(), 1, "{creates:#?}");
    assert_eq!(creates[0]["path"], "/v1/projects/shop-prod-4711/locations/europe-west1/clusters");
    assert_eq!(creates[0]["query"]["clusterId"], "catalog-prod");
    assert_eq!(creates[0]["body"]["shardCount"], 3);
    env.run(&["plan", "--env", "prod", "--detailed-exitcode"]).assert_code(0);

    // Resharding 3 → 4: one PATCH of shardCount.
    let before = env.peer.mutations().len();
    env.project.write("environments/prod.yaml", cluster(4, "default"));
    let plan = env.plan_json();
    assert_eq!(changes(&plan), vec![("memorystore:cluster/catalog-prod".into(), "[\"update\"]".into())], "{plan:#}");
    env.run(&["apply", "--env", "prod", "--auto-approve"]).assert_code(0);
    let patches: Vec<_> = env.peer.mutations().split_off(before);
    assert_eq!(patches.len(), 1, "{patches:#?}");
    assert_eq!(patches[0]["method"], "PATCH");
    assert_eq!(patches[0]["path"], format!("/v1/{name}"));
    assert_eq!(patches[0]["query"]["updateMask"], "shardCount");
    assert_eq!(patches[0]["body"]["shardCount"], 4);
    env.run(&["plan", "--env", "prod", "--detailed-exitcode"]).assert_code(0);

    // Clients start from the discovery endpoint.
    let run = env.run(&["connect", "--env", "prod", "--format", "json"]);
    run.assert_code(0);
    let connect: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(connect["mode"], "cluster", "{connect:#}");
    assert_eq!(connect["endpoints"][0], "10.0.0.3:6379", "{connect:#}");
    assert_eq!(ca_file(&connect), google_ca(&env.peer, &format!("/v1/{name}/certificateAuthority")));

    // Another network is a new cluster: refused without --allow-destroy; destroy deletes it.
    env.project.write("environments/prod.yaml", cluster(4, "private"));
    let run = env.run(&["apply", "--env", "prod", "--auto-approve"]);
    run.assert_code(1);
    assert!(run.stderr.contains("--allow-destroy"), "{}", run.show());
    assert!(run.stdout.contains("-/+ memorystore:cluster/catalog-prod"), "{}", run.show());
    env.project.write("environments/prod.yaml", cluster(4, "default"));
    env.run(&["destroy", "--env", "prod", "--auto-approve", "--allow-destroy"]).assert_code(0);
    assert_eq!(env.peer.mutations().last().unwrap()["method"], "DELETE");
    env.run(&["plan", "--env", "prod", "--detailed-exitcode"]).assert_code(2);
}

/// A Memorystore for Valkey instance in cluster mode: `shards` shards of HIGHMEM_MEDIUM with one
/// replica each, on `network`; `extra` appended to the overlay.
fn valkey(shards: u32, network: &str, extra: &str) -> String {
    prod(&format!("keyspace: {{ clusterSafe: true }}\n{extra}"))
        .replace(
            "topology: { mode: replication, replicas: 1 }",
            &format!("topology: {{ mode: cluster, shards: {shards}, replicasPerShard: 1 }}"),
        )
        .replace(
            "  memorySizeGb: 5\n",
            &format!(
                "  product: valkey\n  nodeType: HIGHMEM_MEDIUM\n  network: projects/shop-prod-4711/global/networks/{network}\n"
            ),
        )
}

#[test]
fn memorystore_valkey_is_created_changed_and_deleted_through_the_api() {
    let mut env = Env::with_peer(&valkey(3, "default", ""), Peer::valkey());
    env.project.write("redisctl.yaml", BASE.replace("\"7.0\"", "\"7.2\""));
    let name = "projects/shop-prod-4711/locations/europe-west1/instances/catalog-prod";

    // From nothing: changes present (exit 2), one instance to create.
    let run = env.run(&["plan", "--env", "prod", "--detailed-exitcode"]);
    run.assert_code(2);
    assert!(run.stdout.contains("+ memorystore:instance/catalog-prod"), "{}", run.show());
    let plan = env.plan_json();
    assert_eq!(changes(&plan), vec![("memorystore:instance/catalog-prod".into(), "[\"create\"]".into())], "{plan:#}");

    let run = env.run(&["-vv", "apply", "--env", "prod", "--auto-approve"]);
    run.assert_code(0);
    assert!(run.stderr.contains("CreateInstance catalog-prod done"), "progress is logged\n{}", run.show());
    let creates = env.peer.mutations();
    assert_eq!(creates.len(), 1, "{creates:#?}");
    assert_eq!(creates[0]["method"], "POST");
    assert_eq!(creates[0]["path"], "/v1/projects/shop-prod-4711/locations/europe-west1/instances");
    assert_eq!(creates[0]["query"]["instanceId"], "catalog-prod");
    let body = &creates[0]["body"];
    // Enums as the proto numbers of Google's memorystore_v1 types: CLUSTER is 2, IAM_AUTH 2.
    assert_eq!((&body["mode"], &body["authorizationMode"]), (&2.into(), &2.into()), "{body:#}");
    assert_eq!(body["shardCount"], 3);
    assert_eq!(body["engineVersion"], "VALKEY_7_2");
    assert_eq!(body["engineConfigs"]["maxmemory-policy"], "allkeys-lru");
    assert_eq!(
        body["endpoints"][0]["connections"][0]["pscAutoConnection"]["network"],
        "projects/shop-prod-4711/global/networks/default"
    );
    assert!(env.peer.requests().iter().any(|r| r["path"].as_str().unwrap().contains("/operations/")));

    // Applied: nothing left to do.
    let run = env.run(&["plan", "--env", "prod", "--detailed-exitcode"]);
    run.assert_code(0);
    assert!(run.stdout.contains("No changes"), "{}", run.show());

    // One engineConfigs entry: exactly one PATCH, with that mask and that entry.
    let before = env.peer.mutations().len();
    let configured = "redis: { config: { notify-keyspace-events: Ex } }\n";
    env.project.write("environments/prod.yaml", valkey(3, "default", configured));
    let plan = env.plan_json();
    assert_eq!(
        changes(&plan),
        vec![("memorystore:config/catalog-prod/notify-keyspace-events".into(), "[\"update\"]".into())],
        "{plan:#}"
    );
    env.run(&["apply", "--env", "prod", "--auto-approve"]).assert_code(0);
    let patches = env.peer.mutations().split_off(before);
    assert_eq!(patches.len(), 1, "{patches:#?}");
    assert_eq!(patches[0]["method"], "PATCH");
    assert_eq!(patches[0]["path"], format!("/v1/{name}"));
    assert_eq!(patches[0]["query"]["updateMask"], "engineConfigs");
    assert_eq!(
        patches[0]["body"]["engineConfigs"],
        serde_json::json!({ "maxmemory-policy": "allkeys-lru", "notify-keyspace-events": "Ex" })
    );
    env.run(&["plan", "--env", "prod", "--detailed-exitcode"]).assert_code(0);

    // Resharding 3 → 4 and a label: one PATCH naming both fields.
    let before = env.peer.mutations().len();
    let resharded = valkey(4, "default", configured).replace("gcp:\n", "gcp:\n  labels: { team: catalog }\n");
    env.project.write("environments/prod.yaml", &resharded);
    let plan = env.plan_json();
    assert_eq!(changes(&plan), vec![("memorystore:instance/catalog-prod".into(), "[\"update\"]".into())], "{plan:#}");
    env.run(&["apply", "--env", "prod", "--auto-approve"]).assert_code(0);
    let patches = env.peer.mutations().split_off(before);
    assert_eq!(patches.len(), 1, "{patches:#?}");
    assert_eq!(patches[0]["query"]["updateMask"], "labels,shardCount");
    assert_eq!(patches[0]["body"]["shardCount"], 4);
    assert_eq!(patches[0]["body"]["labels"]["team"], "catalog");
    env.run(&["plan", "--env", "prod", "--detailed-exitcode"]).assert_code(0);

    // Connect: the discovery endpoint, TLS, the AUTH reference.
    let run = env.run(&["connect", "--env", "prod", "--format", "json"]);
    run.assert_code(0);
    let connect: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(connect["mode"], "cluster", "{connect:#}");
    assert_eq!(connect["endpoints"][0], "10.0.0.3:6379", "{connect:#}");
    assert_eq!(connect["tls"]["enabled"], true, "{connect:#}");
    assert_eq!(ca_file(&connect), google_ca(&env.peer, &format!("/v1/{name}/certificateAuthority")));
    assert!(connect.get("readerEndpoint").is_none(), "cluster mode has no reader endpoint: {connect:#}");
    assert_eq!(connect["passwordRef"]["fromEnv"], "CATALOG_AUTH_STRING", "{connect:#}");

    // Another network (the endpoints' PSC connection is immutable): a destructive
    // replacement, refused without --allow-destroy, nothing sent.
    env.project.write("environments/prod.yaml", resharded.replace("networks/default", "networks/private"));
    let before = env.peer.mutations().len();
    let run = env.run(&["apply", "--env", "prod", "--auto-approve"]);
    run.assert_code(1);
    assert!(run.stderr.contains("--allow-destroy"), "{}", run.show());
    assert!(run.stdout.contains("-/+ memorystore:instance/catalog-prod"), "{}", run.show());
    assert!(run.stdout.contains("endpoints"), "the plan says why\n{}", run.show());
    assert_eq!(env.peer.mutations().len(), before, "nothing was sent");
    env.project.write("environments/prod.yaml", &resharded);

    // Destroy: refused without --allow-destroy, then a DELETE; from nothing again after.
    let run = env.run(&["destroy", "--env", "prod", "--auto-approve"]);
    run.assert_code(1);
    assert!(run.stderr.contains("--allow-destroy"), "{}", run.show());
    env.run(&["destroy", "--env", "prod", "--auto-approve", "--allow-destroy"]).assert_code(0);
    let last = env.peer.mutations().pop().unwrap();
    assert_eq!((&last["method"], &last["path"]), (&"DELETE".into(), &format!("/v1/{name}").into()), "{last:#}");
    env.run(&["plan", "--env", "prod", "--detailed-exitcode"]).assert_code(2);

    // The AUTH reference's value is in no output, the state, the document or a request.
    env.run(&["render", "--env", "prod", "--out", "-"]).assert_code(0);
    let sent = std::fs::read_to_string(&env.peer.log).unwrap();
    for text in env.outputs.iter().chain([&sent]) {
        assert!(!text.contains(AUTH_STRING), "the AUTH string leaked:\n{text}");
    }
}

#[test]
fn memorystore_valkey_without_cluster_mode_has_a_primary_and_a_reader_endpoint() {
    let overlay = |replicas: u32| {
        prod("").replace("replicas: 1 }", &format!("replicas: {replicas} }}")).replace(
            "  memorySizeGb: 5\n",
            "  product: valkey\n  nodeType: HIGHMEM_MEDIUM\n  network: projects/shop-prod-4711/global/networks/default\n",
        )
    };
    let mut env = Env::with_peer(&overlay(1), Peer::valkey());
    env.project.write("redisctl.yaml", BASE.replace("\"7.0\"", "\"7.2\""));
    let name = "projects/shop-prod-4711/locations/europe-west1/instances/catalog-prod";

    env.run(&["plan", "--env", "prod", "--detailed-exitcode"]).assert_code(2);
    env.run(&["apply", "--env", "prod", "--auto-approve"]).assert_code(0);
    let creates = env.peer.mutations();
    assert_eq!(creates.len(), 1, "{creates:#?}");
    let body = &creates[0]["body"];
    // CLUSTER_DISABLED is 4 in Google's memorystore_v1 Instance.Mode; one shard, one replica.
    assert_eq!(
        (&body["mode"], &body["shardCount"], &body["replicaCount"]),
        (&4.into(), &1.into(), &1.into()),
        "{body:#}"
    );
    env.run(&["plan", "--env", "prod", "--detailed-exitcode"]).assert_code(0);

    // A second replica: one PATCH of replicaCount.
    let before = env.peer.mutations().len();
    env.project.write("environments/prod.yaml", overlay(2));
    env.run(&["apply", "--env", "prod", "--auto-approve"]).assert_code(0);
    let patches = env.peer.mutations().split_off(before);
    assert_eq!(patches.len(), 1, "{patches:#?}");
    assert_eq!(
        (&patches[0]["query"]["updateMask"], &patches[0]["body"]["replicaCount"]),
        (&"replicaCount".into(), &2.into())
    );
    env.run(&["plan", "--env", "prod", "--detailed-exitcode"]).assert_code(0);

    // Connect agrees with what Google reports: the primary and the reader endpoint, the
    // instance's own CA.
    let (_, live) = send(&env.peer, "GET", &format!("/v1/{name}"), "");
    let endpoint = |kind: &str| {
        let c = live["endpoints"][0]["connections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["pscAutoConnection"]["connectionType"] == kind);
        let a = &c.unwrap_or_else(|| panic!("no {kind} connection: {live:#}"))["pscAutoConnection"];
        format!("{}:{}", a["ipAddress"].as_str().unwrap(), a["port"])
    };
    let run = env.run(&["connect", "--env", "prod", "--format", "json"]);
    run.assert_code(0);
    let connect: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(connect["mode"], "managed-single-endpoint", "{connect:#}");
    assert_eq!(connect["endpoints"], serde_json::json!([endpoint("CONNECTION_TYPE_PRIMARY")]), "{connect:#}");
    assert_eq!(connect["readerEndpoint"], endpoint("CONNECTION_TYPE_READER"), "{connect:#}");
    assert_ne!(connect["readerEndpoint"], connect["endpoints"][0]);
    assert_eq!(ca_file(&connect), google_ca(&env.peer, &format!("/v1/{name}/certificateAuthority")));
    env.run(&["destroy", "--env", "prod", "--auto-approve", "--allow-destroy"]).assert_code(0);

    // The same instance created elsewhere with the region's shared CA (`serverCaMode` 2,
    // GOOGLE_MANAGED_SHARED_CA): connect reads that CA, not a per-instance one.
    let mut shared = creates[0]["body"].clone();
    shared["serverCaMode"] = 2.into();
    let parent = "/v1/projects/shop-prod-4711/locations/europe-west1/instances";
    let (code, op) = send(
        &env.peer,
        "POST",
        &format!("{parent}?instanceId=catalog-prod&$alt=json;enum-encoding=int"),
        &shared.to_string(),
    );
    assert_eq!(code, 200, "{op}");
    assert_eq!(send(&env.peer, "GET", &format!("/v1/{}", op["name"].as_str().unwrap()), "").1["done"], true);
    let asked = env.peer.requests().len();
    let run = env.run(&["connect", "--env", "prod", "--format", "json"]);
    run.assert_code(0);
    let connect: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let region = "/v1/projects/shop-prod-4711/locations/europe-west1/sharedRegionalCertificateAuthority";
    assert_eq!(ca_file(&connect), google_ca(&env.peer, region));
    let paths: Vec<String> =
        env.peer.requests()[asked..].iter().map(|r| r["path"].as_str().unwrap().to_string()).collect();
    assert!(!paths.iter().any(|p| p.ends_with("/certificateAuthority")), "{paths:?}");
}

#[test]
fn memorystore_valkey_interrupted_apply_is_resumed() {
    // Operations take 2 s at the peer, whoever polls.
    let mut env = Env::with_peer(&valkey(3, "default", ""), Peer::serving("memorystore", 2.0));
    env.project.write("redisctl.yaml", BASE.replace("\"7.0\"", "\"7.2\""));
    interrupt_apply_after_its_create(&env);

    assert_resumed(&mut env);
}

#[test]
fn memorystore_valkey_peer_refuses_what_googles_memorystore_client_does_not_describe() {
    let peer = Peer::valkey();
    assert!(peer.source.contains("memorystore:v1 described by google-cloud-memorystore 0.5.6"), "{}", peer.source);
    let parent = "/v1/projects/p-4711/locations/europe-west1/instances";
    let post = |body: &str| send(&peer, "POST", &format!("{parent}?instanceId=vk-1"), body);
    let refused = |body: &str, says: &str| {
        let (code, answer) = post(body);
        assert_eq!((code, answer["error"]["status"].as_str()), (400, Some("INVALID_ARGUMENT")), "{body}: {answer}");
        assert!(answer["error"]["message"].as_str().unwrap().contains(says), "{body}: {answer}");
    };
    // An unknown field, named.
    refused(r#"{"shardCount":1,"maxmemoryGb":1}"#, "Unknown name \"maxmemoryGb\"");
    // Redis Cluster's spellings are not Valkey's enum values (node type, AOF fsync).
    refused(r#"{"nodeType":"REDIS_HIGHMEM_MEDIUM"}"#, "instance.nodeType");
    refused(r#"{"persistenceConfig":{"mode":"AOF","aofConfig":{"appendFsync":"EVERYSEC"}}}"#, "appendFsync");
    // Output-only fields cannot be set; a field of the wrong type is refused.
    refused(r#"{"uid":"x"}"#, "output only");
    refused(r#"{"shardCount":"three"}"#, "expected an integer");
    // The required instanceId, an unknown query parameter, a route that does not exist.
    assert_eq!(send(&peer, "POST", parent, r#"{"shardCount":1}"#).0, 400);
    assert_eq!(send(&peer, "POST", &format!("{parent}?instanceId=vk-1&force=true"), "{}").0, 400);
    assert_eq!(send(&peer, "POST", "/v1/projects/p-4711/locations/europe-west1/clusters", "{}").0, 404);

    // What the client describes is accepted: a long-running operation.
    let (code, answer) = post(r#"{"mode":"CLUSTER","shardCount":1,"nodeType":"HIGHMEM_MEDIUM"}"#);
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["done"], false, "{answer}");
    // updateMask paths: immutable, output only, no field at all.
    for mask in ["mode", "transit_encryption_mode", "uid", "shard_counts"] {
        let (code, answer) = send(&peer, "PATCH", &format!("{parent}/vk-1?updateMask={mask}"), r#"{"labels":{}}"#);
        assert_eq!(code, 400, "{mask}: {answer}");
        assert!(answer["error"]["message"].as_str().unwrap().contains("field mask"), "{mask}: {answer}");
    }
}

/// A file of the installed peer packages (`.venv-peers/lib/python3.*/site-packages/<rel>`).
fn peer_package_file(rel: &str) -> String {
    let lib = crate::common::repo_root().join(".venv-peers/lib");
    let found = std::fs::read_dir(&lib)
        .unwrap_or_else(|e| panic!("{}: {e}: run scripts/install-test-peers.sh", lib.display()))
        .filter_map(|d| Some(d.ok()?.path().join("site-packages").join(rel)))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{rel} is not installed: run scripts/install-test-peers.sh"));
    std::fs::read_to_string(found).unwrap()
}

/// Google's "the only supported parameters are: Redis version 3.2 and newer: * a * b Redis
/// version 4.0 and newer: * c" as (parameter, version).
fn supported_parameters(text: &str) -> Vec<(String, String)> {
    let Some((_, list)) = text.split_once("the only supported parameters are:") else { return Vec::new() };
    list.split("Redis version ")
        .filter_map(|part| part.split_once(" and newer:"))
        .flat_map(|(version, items)| {
            items.split('*').map(str::trim).filter(|i| !i.is_empty()).map(move |i| (i.to_string(), version.to_string()))
        })
        .collect()
}

/// The configurable `redisConfigs` of data/memorystore.toml are the ones Google's own API
/// descriptions list — redis.v1.json's `Instance.redisConfigs` — from the version named there
/// (or the oldest Redis the contract offers, when that is newer). Google's descriptions of the
/// Redis Cluster `redisConfigs` (redis.v1.json) and the Valkey `engineConfigs`
/// (google-cloud-memorystore's types) list no parameters: this test asserts that too, so that
/// a list appearing there is noticed and compared.
#[test]
fn memorystore_redis_configs_allow_list_is_the_one_google_publishes() {
    let doc: serde_json::Value =
        serde_json::from_str(&peer_package_file("googleapiclient/discovery_cache/documents/redis.v1.json")).unwrap();
    let describe = |schema: &str| {
        doc["schemas"][schema]["properties"]["redisConfigs"]["description"].as_str().unwrap().to_string()
    };
    let google = supported_parameters(&describe("Instance"));
    assert!(google.len() >= 8, "Google's list was not parsed: {google:?}\n{}", describe("Instance"));

    let catalog = redisctl::targets::memorystore::Catalog::get();
    let oldest =
        catalog.version.iter().filter(|r| r.product == "redis-instance").map(|r| r.redis.as_str()).min().unwrap();
    let directives = std::fs::read_to_string(crate::common::repo_root().join("data/directives.toml")).unwrap();
    let rank = |v: &str| -> (u32, u32) {
        let (a, b) = v.split_once('.').unwrap();
        (a.parse().unwrap(), b.parse().unwrap())
    };
    let mut expected = std::collections::BTreeMap::new();
    for (name, since) in &google {
        if !directives.contains(&format!("name = \"{name}\"")) {
            // Memorystore's own parameter (maxmemory-gb), no Redis directive: the contract sizes
            // the instance with `gcp.memorySizeGb` instead.
            assert_eq!(name, "maxmemory-gb", "Google lists `{name}`, which data/directives.toml does not know");
            continue;
        }
        let since = if rank(since) < rank(oldest) { oldest } else { since.as_str() };
        expected.insert(name.clone(), since.to_string());
    }
    let table: std::collections::BTreeMap<String, String> = catalog.configs.clone().into_iter().collect();
    assert_eq!(table, expected, "data/memorystore.toml [configs] differs from Google's list: {google:?}");

    // The cluster and Valkey descriptions list nothing (yet): the table says so.
    assert!(supported_parameters(&describe("Cluster")).is_empty(), "{}", describe("Cluster"));
    let types = peer_package_file("google/cloud/memorystore_v1/types/memorystore.py");
    let engine_configs = types.split("engine_configs (MutableMapping[str, str]):").nth(1).unwrap();
    let engine_configs = engine_configs.split("):").next().unwrap();
    assert!(!engine_configs.contains("supported parameters"), "{engine_configs}");
    assert!(engine_configs.contains("User-provided engine configurations"), "{engine_configs}");
}
