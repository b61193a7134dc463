//! `target: elasticache` end to end: the real binary against a local `moto_server` (PyPI
//! `moto[server]`, installed into .venv-peers by scripts/install-test-peers.sh), bound to
//! 127.0.0.1 on a free port and always stopped.
//!
//! moto serves replication groups, users, subnet groups and snapshots, but no parameter groups
//! or user groups: this project keeps to the default parameter group (waiving the eviction
//! rule) and one AUTH token (waiving the ACL-user rule); the project is tests/common/elasticache.rs.
//! Parameter groups, user groups, RBAC rotation and resharding are tested with the SDK's mock
//! client in tests/fast/elasticache_mocks.rs; what fails before any call, in
//! tests/fast/elasticache_moto.rs.

use crate::common::elasticache::{prod, BASE, TOKEN};
use crate::common::moto::{start_moto, Moto};
use crate::common::{Run, TempProject};

const NEW_TOKEN: &str = "moto-auth-Token-rotated-fedcba98";

struct Env {
    project: TempProject,
    moto: Moto,
    token: String,
    outputs: Vec<String>,
    /// `RUST_LOG` of the runs (the SDK's own trace included), when set.
    rust_log: Option<&'static str>,
}

impl Env {
    fn run(&mut self, args: &[&str]) -> Run {
        let mut cmd = self.project.cmd();
        cmd.args(["--endpoint-url", &self.moto.url])
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .env("CATALOG_AUTH_TOKEN", &self.token)
            .env("REDISCTL_AWS_POLL_MS", "50");
        if let Some(spec) = self.rust_log {
            cmd.env("RUST_LOG", spec);
        }
        let run = Run::of(&mut cmd);
        self.outputs.push(run.stdout.clone());
        self.outputs.push(run.stderr.clone());
        run
    }

    /// The JSON plan, checked against the committed plan schema.
    fn plan_json(&mut self) -> serde_json::Value {
        self.plan_json_of("prod")
    }

    fn plan_json_of(&mut self, name: &str) -> serde_json::Value {
        let run = self.run(&["plan", "--env", name, "--format", "json"]);
        run.assert_code(0);
        let plan: serde_json::Value =
            serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("plan JSON: {e}\n{}", run.show()));
        let errors = crate::common::plan_schema_errors(&plan);
        assert!(errors.is_empty(), "{errors:?}\n{plan:#}");
        plan
    }
}

fn elasticache_changes(plan: &serde_json::Value) -> Vec<(String, String)> {
    plan["resource_changes"]
        .as_array()
        .or_else(|| plan["changes"].as_array())
        .expect("changes in the plan JSON")
        .iter()
        .filter(|c| c["address"].as_str().unwrap_or("").starts_with("elasticache:"))
        .map(|c| (c["address"].as_str().unwrap().to_string(), c["change"]["actions"].to_string()))
        .collect()
}

#[test]
fn an_environment_is_created_changed_rotated_and_deleted_through_the_aws_api() {
    let project = TempProject::new(&[("redisctl.yaml", BASE), ("environments/prod.yaml", &prod("cache.t4g.small"))]);
    let mut env = Env { project, moto: start_moto(), token: TOKEN.into(), outputs: Vec::new(), rust_log: None };

    // From nothing: changes present (exit 2), a replication group to create.
    let run = env.run(&["plan", "--env", "prod", "--detailed-exitcode"]);
    run.assert_code(2);
    assert!(run.stdout.contains("+ elasticache:replication-group/catalog-prod"), "{}", run.show());
    let plan = env.plan_json();
    assert_eq!(
        elasticache_changes(&plan),
        vec![("elasticache:replication-group/catalog-prod".to_string(), "[\"create\"]".to_string())],
        "{plan:#}"
    );

    env.run(&["apply", "--env", "prod", "--auto-approve"]).assert_code(0);
    // Applied: nothing left to do.
    let run = env.run(&["plan", "--env", "prod", "--detailed-exitcode"]);
    run.assert_code(0);
    assert!(run.stdout.contains("No changes"), "{}", run.show());

    // Change the node type: exactly one ModifyReplicationGroup of that field.
    env.project.write("environments/prod.yaml", prod("cache.m7g.large"));
    let plan = env.plan_json();
    assert_eq!(
        elasticache_changes(&plan),
        vec![("elasticache:replication-group/catalog-prod".to_string(), "[\"update\"]".to_string())],
        "{plan:#}"
    );
    let text = env.run(&["plan", "--env", "prod"]).stdout;
    assert!(text.contains(r#"{"CacheNodeType":"cache.t4g.small"} → {"CacheNodeType":"cache.m7g.large"}"#), "{text}");
    env.run(&["apply", "--env", "prod", "--auto-approve"]).assert_code(0);
    env.run(&["plan", "--env", "prod", "--detailed-exitcode"]).assert_code(0);

    // Connect gives the primary endpoint the account reports, with TLS.
    let run = env.run(&["connect", "--env", "prod", "--format", "json"]);
    run.assert_code(0);
    let connect: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(connect["mode"], "managed-single-endpoint", "{connect:#}");
    assert!(connect["endpoints"][0].as_str().unwrap().starts_with("master.catalog-prod."), "{connect:#}");
    assert_eq!(connect["tls"]["enabled"], true);
    // The AUTH token by reference: where it is, never what it is.
    assert_eq!(connect["passwordRef"]["fromEnv"], "CATALOG_AUTH_TOKEN", "{connect:#}");
    assert!(!run.stdout.contains(TOKEN));

    // Token rotation: ROTATE (both valid), then SET with --finish-rotation; every crate's trace
    // log on (the SDK's requests included), which the final check greps for the tokens too.
    env.rust_log = Some("trace");
    env.token = NEW_TOKEN.into();
    let run = env.run(&["plan", "--env", "prod"]);
    assert!(run.stdout.contains("rotation, step 1 (ROTATE)"), "{}", run.show());
    // Step 1 leaves step 2 planned on purpose: exit 2, not "complete".
    let run = env.run(&["apply", "--env", "prod", "--auto-approve"]);
    run.assert_code(2);
    assert!(
        run.stdout.contains("Apply incomplete!") && run.stdout.contains("waits for --finish-rotation"),
        "{}",
        run.show()
    );
    let run = env.run(&["plan", "--env", "prod"]);
    assert!(run.stdout.contains("rotation, step 2"), "{}", run.show());
    let run = env.run(&["apply", "--env", "prod", "--auto-approve"]);
    run.assert_code(2);
    assert!(run.stdout.contains("Skipped elasticache:auth-token/catalog-prod"), "{}", run.show());
    env.run(&["apply", "--env", "prod", "--auto-approve", "--finish-rotation"]).assert_code(0);
    assert!(env.outputs.iter().any(|o| o.contains("TRACE aws_smithy")), "the SDK's trace log is on");
    env.rust_log = None;
    env.run(&["plan", "--env", "prod", "--detailed-exitcode"]).assert_code(0);

    // A saved plan and every format keep the token out (a pending rotation is in the plan).
    env.token = format!("{NEW_TOKEN}-2");
    let plan_file = env.project.path().join("rotate.plan");
    env.run(&["plan", "--env", "prod", "--out", plan_file.to_str().unwrap()]).assert_code(0);
    env.run(&["plan", "--env", "prod", "--format", "markdown"]).assert_code(0);
    env.run(&["plan", "--env", "prod", "--format", "json"]).assert_code(0);
    env.outputs.push(std::fs::read_to_string(&plan_file).unwrap());
    // The saved plan (ElastiCache requests, a rotation that waits for a flag) is a document the
    // committed schema describes.
    let saved: serde_json::Value = serde_json::from_str(env.outputs.last().unwrap()).unwrap();
    let errors = crate::common::plan_schema_errors(&saved);
    assert!(errors.is_empty(), "{errors:?}\n{saved:#}");
    // Step 1 of this rotation leaves step 2 planned on purpose (exit 2), then it finishes.
    env.run(&["apply", plan_file.to_str().unwrap()]).assert_code(2);
    env.run(&["apply", "--env", "prod", "--auto-approve", "--finish-rotation"]).assert_code(0);
    // The state records the token as a salted digest, readable by its owner alone: the bare
    // SHA-256 of a weak token is a dictionary lookup away.
    let state_path = env.project.path().join("deploy/prod/.redisctl-state.json");
    let recorded = std::fs::read_to_string(&state_path).unwrap();
    assert!(recorded.contains("\"digest\": \"s1:"), "{recorded}");
    for token in [TOKEN.to_string(), NEW_TOKEN.to_string(), format!("{NEW_TOKEN}-2")] {
        let bare = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(token.as_bytes()));
        assert!(!recorded.contains(&bare), "an unsalted digest of the token:\n{recorded}");
    }
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&state_path).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "state file mode {mode:o}");

    // Deleting the environment deletes data: refused without --allow-destroy.
    let run = env.run(&["destroy", "--env", "prod", "--auto-approve"]);
    run.assert_code(1);
    assert!(run.stderr.contains("--allow-destroy"), "{}", run.show());
    env.run(&["plan", "--env", "prod", "--detailed-exitcode"]).assert_code(0);
    let run = env.run(&["destroy", "--env", "prod", "--auto-approve", "--allow-destroy", "--snapshot-first"]);
    run.assert_code(0);
    assert!(run.stderr.contains("snapshot catalog-prod-redisctl-"), "{}", run.show());
    let run = env.run(&["plan", "--env", "prod"]);
    assert!(run.stderr.contains("being deleted"), "{}", run.show());

    // No token in any output, the state file or the rendered request document.
    let state = env.project.read("deploy/prod/.redisctl-state.json");
    let document = env.project.read("deploy/prod/elasticache/requests.yaml");
    assert!(document.contains("(sensitive: environment variable CATALOG_AUTH_TOKEN)"), "{document}");
    for secret in [TOKEN.to_string(), NEW_TOKEN.to_string(), format!("{NEW_TOKEN}-2")] {
        for text in env.outputs.iter().chain([&state, &document]) {
            assert!(!text.contains(&secret), "the token leaked:\n{text}");
        }
    }
}

#[test]
fn a_cluster_mode_group_is_created_with_its_shards_and_connects_through_the_configuration_endpoint() {
    let overlay = prod("cache.r7g.large").replace(
        "topology: { mode: replication, replicas: 1 }",
        "topology: { mode: cluster, shards: 3, replicasPerShard: 1 }\nkeyspace: { clusterSafe: true }",
    );
    let project = TempProject::new(&[("redisctl.yaml", BASE), ("environments/prod.yaml", &overlay)]);
    let mut env = Env { project, moto: start_moto(), token: TOKEN.into(), outputs: Vec::new(), rust_log: None };
    let document = {
        let run = env.run(&["plan", "--env", "prod"]);
        run.assert_code(0);
        run.stdout
    };
    assert!(document.contains("ClusterMode: enabled") && document.contains("NumNodeGroups: 3"), "{document}");
    assert!(document.contains("default.redis7.cluster.on"), "{document}");
    env.run(&["apply", "--env", "prod", "--auto-approve"]).assert_code(0);
    env.run(&["plan", "--env", "prod", "--detailed-exitcode"]).assert_code(0);
    let run = env.run(&["connect", "--env", "prod", "--format", "url"]);
    run.assert_code(0);
    assert!(run.stdout.starts_with("rediss://clustercfg.catalog-prod."), "{}", run.show());

    // Cluster mode cannot be switched off in place: a destructive replacement.
    env.project.write("environments/prod.yaml", prod("cache.r7g.large"));
    let run = env.run(&["plan", "--env", "prod"]);
    assert!(run.stdout.contains("-/+ elasticache:replication-group/catalog-prod"), "{}", run.show());
    assert!(run.stdout.contains("cluster mode enabled → disabled"), "{}", run.show());
    let run = env.run(&["apply", "--env", "prod", "--auto-approve"]);
    run.assert_code(1);
    assert!(run.stderr.contains("--allow-destroy"), "{}", run.show());
}

/// The alarms moto holds under redisctl's prefix, read with boto3 (moto's own client) rather
/// than through redisctl: name → (metric, threshold, datapoints to alarm, alarm actions).
fn alarms_in_moto(moto: &Moto) -> std::collections::BTreeMap<String, (String, f64, i64, Vec<String>)> {
    let out = moto.boto3(
        r#"
out = {}
for page in aws("cloudwatch").get_paginator("describe_alarms").paginate(AlarmNamePrefix="redisctl:catalog-prod:"):
    for a in page["MetricAlarms"]:
        out[a["AlarmName"]] = [a["MetricName"], a["Threshold"], a.get("DatapointsToAlarm", 0), a["AlarmActions"]]
print(json.dumps(out))
"#,
    );
    serde_json::from_str(&out).expect("alarms JSON")
}

/// The PutMetricAlarm requests of the rendered document: name → (metric, threshold).
fn rendered_alarms(project: &TempProject) -> std::collections::BTreeMap<String, (String, f64)> {
    let doc = crate::common::targets::yaml_file(&project.path().join("deploy/prod/elasticache/requests.yaml"));
    doc["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["operation"] == "PutMetricAlarm")
        .map(|r| {
            let i = &r["input"];
            (
                i["AlarmName"].as_str().unwrap().to_string(),
                (i["MetricName"].as_str().unwrap().to_string(), i["Threshold"].as_f64().unwrap()),
            )
        })
        .collect()
}

fn alarm_changes(plan: &serde_json::Value) -> Vec<(String, String)> {
    plan["resource_changes"]
        .as_array()
        .or_else(|| plan["changes"].as_array())
        .expect("changes in the plan JSON")
        .iter()
        .filter(|c| c["address"].as_str().unwrap_or("").starts_with("cloudwatch:alarm/"))
        .map(|c| (c["address"].as_str().unwrap().to_string(), c["change"]["actions"][0].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn slos_and_alerts_become_cloudwatch_alarms_that_are_planned_applied_changed_and_removed() {
    const PAGER: &str = "arn:aws:sns:us-east-1:123456789012:catalog-oncall";
    let overlay = |memory: &str| {
        format!(
            "{}observability:\n  alerts: {{ memory: {memory} }}\n",
            prod("cache.t4g.small").replace(
                "authToken: { fromEnv: CATALOG_AUTH_TOKEN }",
                &format!("authToken: {{ fromEnv: CATALOG_AUTH_TOKEN }}, alarmTopics: {{ page: [\"{PAGER}\"] }}"),
            )
        )
    };
    let project =
        TempProject::new(&[("redisctl.yaml", BASE), ("environments/prod.yaml", &overlay("{ threshold: 95 }"))]);
    let mut env = Env { project, moto: start_moto(), token: TOKEN.into(), outputs: Vec::new(), rust_log: None };

    // The plan creates exactly the alarms the rendered document requests (a cache: memory,
    // hit rate, replication lag, failed AUTH; read and write latency burn rates), on both members.
    env.run(&["render", "--env", "prod"]).assert_code(0);
    let rendered = rendered_alarms(&env.project);
    let members = ["catalog-prod-001", "catalog-prod-002"];
    for key in ["memory", "hitRate", "replicaLag", "authFailures", "latency-reads-burn-1h", "latency-writes-burn-6h"] {
        for m in members {
            assert!(rendered.contains_key(&format!("redisctl:catalog-prod:{key}:{m}")), "{key} on {m}: {rendered:#?}");
        }
    }
    let document = env.project.read("deploy/prod/elasticache/requests.yaml");
    assert!(document.contains("no CloudWatch alarm for `oom`"), "what has no metric is listed:\n{document}");
    let plan = env.plan_json();
    let mut created: Vec<String> =
        alarm_changes(&plan).into_iter().filter(|(_, a)| a == "create").map(|(addr, _)| addr).collect();
    created.sort();
    let expected: Vec<String> = rendered.keys().map(|n| format!("cloudwatch:alarm/{n}")).collect();
    assert_eq!(created, expected);

    env.run(&["apply", "--env", "prod", "--auto-approve"]).assert_code(0);
    env.run(&["plan", "--env", "prod", "--detailed-exitcode"]).assert_code(0);
    // What CloudWatch holds is what was rendered, and pages reach the pager.
    let held = alarms_in_moto(&env.moto);
    assert_eq!(held.keys().collect::<Vec<_>>(), rendered.keys().collect::<Vec<_>>());
    for (name, (metric, threshold)) in &rendered {
        assert_eq!((&held[name].0, held[name].1), (metric, *threshold), "{name}");
    }
    let fast_burn = &held["redisctl:catalog-prod:latency-reads-burn-1h:catalog-prod-001"];
    assert_eq!((fast_burn.2, &fast_burn.3), (9, &vec![PAGER.to_string()]), "9 bad minutes of 60 page");

    // A changed threshold updates exactly the memory alarms, with the old and new value.
    env.project.write("environments/prod.yaml", overlay("{ threshold: 90 }"));
    let plan = env.plan_json();
    let changes = alarm_changes(&plan);
    assert_eq!(
        changes,
        members
            .iter()
            .map(|m| (format!("cloudwatch:alarm/redisctl:catalog-prod:memory:{m}"), "update".to_string()))
            .collect::<Vec<_>>()
    );
    let text = env.run(&["plan", "--env", "prod"]).stdout;
    assert!(text.contains("~ cloudwatch:alarm/redisctl:catalog-prod:memory:catalog-prod-001"), "{text}");
    assert!(text.contains("changes Threshold 95 → 90"), "{text}");
    env.run(&["apply", "--env", "prod", "--auto-approve"]).assert_code(0);
    assert_eq!(alarms_in_moto(&env.moto)["redisctl:catalog-prod:memory:catalog-prod-001"].1, 90.0);

    // An alert turned off deletes its alarms.
    env.project.write("environments/prod.yaml", overlay("{ severity: off }"));
    env.run(&["apply", "--env", "prod", "--auto-approve"]).assert_code(0);
    let held = alarms_in_moto(&env.moto);
    assert!(!held.keys().any(|n| n.contains(":memory:")), "{held:#?}");
    env.run(&["plan", "--env", "prod", "--detailed-exitcode"]).assert_code(0);

    // Destroy deletes the alarms with the group.
    env.run(&["destroy", "--env", "prod", "--auto-approve", "--allow-destroy"]).assert_code(0);
    assert!(alarms_in_moto(&env.moto).is_empty());
    for text in &env.outputs {
        assert!(!text.contains(TOKEN), "the token leaked:\n{text}");
    }
}

/// A proxy in front of moto_server: request `n` (from 0) is answered by `answer(n)` when it
/// gives a response, else passed through. Returns the proxy's URL and the request counter.
fn proxy(
    upstream: String,
    answer: impl Fn(usize) -> Option<Vec<u8>> + Send + Sync + 'static,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, BufReader, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let answer = Arc::new(answer);
    {
        let requests = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (requests, upstream, answer) = (requests.clone(), upstream.clone(), answer.clone());
                std::thread::spawn(move || {
                    let mut client = BufReader::new(stream);
                    // One HTTP/1.1 request after the other on a kept-alive connection.
                    while let Some(request) = read_message(&mut client) {
                        let n = requests.fetch_add(1, Ordering::SeqCst);
                        let response = answer(n).unwrap_or_else(|| {
                            let mut moto = std::net::TcpStream::connect(&upstream).unwrap();
                            moto.write_all(&request).unwrap();
                            read_message(&mut BufReader::new(moto)).unwrap()
                        });
                        if client.get_mut().write_all(&response).is_err() {
                            break;
                        }
                    }
                });
            }
        });
    }
    // Reads one HTTP message (head and a Content-Length body); `None` at end of stream.
    fn read_message(r: &mut impl BufRead) -> Option<Vec<u8>> {
        let mut head = Vec::new();
        let mut length = 0;
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).ok()? == 0 {
                return None;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            // The upstream gets a fresh connection per request: ask it to close.
            if line.to_ascii_lowercase().starts_with("connection:") {
                continue;
            }
            let end = line == "\r\n";
            if end {
                head.extend_from_slice(b"Connection: close\r\n");
            }
            head.extend_from_slice(line.as_bytes());
            if end {
                break;
            }
        }
        let mut body = vec![0; length];
        r.read_exact(&mut body).ok()?;
        head.extend(body);
        Some(head)
    }
    (url, requests)
}

fn http(status: &str, body: &str) -> Vec<u8> {
    format!("HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

/// Throttling: no peer throttles on demand, so a proxy in front of moto_server answers the
/// first requests with ElastiCache's `Throttling` error (the AWS Query protocol's error body)
/// and passes the rest through. The plan must still succeed: the client retries with backoff.
#[test]
fn throttled_calls_are_retried_with_backoff() {
    use std::sync::atomic::Ordering;
    let moto = start_moto();
    const THROTTLED: usize = 2;
    let (proxy, requests) = proxy(moto.url.trim_start_matches("http://").to_string(), |n| {
        (n < THROTTLED).then(|| {
            http(
                "400 Bad Request",
                "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>\
                 <Message>Rate exceeded</Message></Error><RequestId>t</RequestId></ErrorResponse>",
            )
        })
    });
    let project = TempProject::new(&[("redisctl.yaml", BASE), ("environments/prod.yaml", &prod("cache.t4g.small"))]);
    let mut env = Env { project, moto, token: TOKEN.into(), outputs: Vec::new(), rust_log: None };
    env.moto.url = proxy;
    let run = env.run(&["plan", "--env", "prod", "--detailed-exitcode"]);
    run.assert_code(2);
    assert!(run.stdout.contains("+ elasticache:replication-group/catalog-prod"), "{}", run.show());
    assert!(requests.load(Ordering::SeqCst) > THROTTLED, "the throttled calls were not retried");
}

/// #14 item 7: an API error says what the service said (code and message, or the HTTP status
/// when the body has none), and only what may succeed again is retried.
#[test]
fn api_errors_keep_their_detail_and_are_retried_only_when_retryable() {
    use std::sync::atomic::Ordering;
    let moto = start_moto();
    let upstream = moto.url.trim_start_matches("http://").to_string();
    let project = TempProject::new(&[("redisctl.yaml", BASE), ("environments/prod.yaml", &prod("cache.t4g.small"))]);
    let mut env = Env { project, moto, token: TOKEN.into(), outputs: Vec::new(), rust_log: None };

    // A client error (not retryable): its code and message, after one request.
    let (url, requests) = proxy(upstream.clone(), |_| {
        Some(http(
            "400 Bad Request",
            "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameterValue</Code>\
             <Message>The parameter X is not valid.</Message></Error><RequestId>r</RequestId></ErrorResponse>",
        ))
    });
    env.moto.url = url;
    let run = env.run(&["plan", "--env", "prod"]);
    run.assert_code(1);
    assert!(run.stderr.contains("InvalidParameterValue: The parameter X is not valid."), "{}", run.show());
    assert_eq!(requests.load(Ordering::SeqCst), 1, "a client error was retried");

    // A server error without a body: the HTTP status says what happened; bounded retries.
    let (url, requests) = proxy(upstream, |_| Some(http("500 Internal Server Error", "")));
    env.moto.url = url;
    let started = std::time::Instant::now();
    let run = env.run(&["plan", "--env", "prod"]);
    run.assert_code(1);
    assert!(run.stderr.contains("HTTP 500"), "{}", run.show());
    assert!(!run.stderr.contains("failed: error: \n") && !run.stderr.trim_end().ends_with("error:"), "{}", run.show());
    let n = requests.load(Ordering::SeqCst);
    assert!((2..=4).contains(&n), "{n} requests for a failing call");
    assert!(started.elapsed() < std::time::Duration::from_secs(15), "took {:?}", started.elapsed());
}

/// #20: `import --elasticache` writes the contract of a running replication group (here one
/// `apply` created in moto) and adopts it: the very next plan of the imported environment
/// against the same group shows no changes. The AUTH token is a reference, never a value: given
/// to import (`--auth-token-env`), it is recorded as the token in use; not given, the plan
/// shows exactly the rotation import listed. moto serves no member clusters, so the member
/// settings are recorded as adopted (and listed), not planned as changes.
#[test]
fn an_imported_replication_group_plans_no_changes() {
    let project = TempProject::new(&[("redisctl.yaml", BASE), ("environments/prod.yaml", &prod("cache.t4g.small"))]);
    let mut env = Env { project, moto: start_moto(), token: TOKEN.into(), outputs: Vec::new(), rust_log: None };
    env.run(&["apply", "--env", "prod", "--auto-approve"]).assert_code(0);
    let import = |env: &mut Env, token: bool| {
        let mut args =
            vec!["import", "--env", "adopted", "--service", "catalog", "--elasticache", "catalog-prod", "--region"];
        args.push("us-east-1");
        if token {
            args.extend(["--auth-token-env", "CATALOG_AUTH_TOKEN"]);
        }
        let run = env.run(&args);
        run.assert_code(0);
        assert!(run.stdout.contains("Adopted: "), "{}", run.show());
        // The operator's decisions import listed: the policy errors are waived as in the source
        // project (moto has no parameter or user groups).
        assert!(
            run.stdout.contains("policy error RCTL105") && run.stdout.contains("policy error RCTL112"),
            "{}",
            run.show()
        );
        assert!(
            run.stdout.contains("could not be described") && run.stdout.contains("recorded as adopted"),
            "{}",
            run.show()
        );
        let overlay = env.project.read("environments/adopted.yaml");
        let waivers = "policy:\n  waivers:\n    - { rule: RCTL105, reason: moto default group }\n    - { rule: RCTL112, reason: one AUTH token }\n";
        env.project.write("environments/adopted.yaml", format!("{overlay}{waivers}"));
        run
    };

    let source = std::mem::replace(&mut env.project, TempProject::new(&[]));
    let run = import(&mut env, true);
    let base = env.project.read("redisctl.yaml");
    let overlay = env.project.read("environments/adopted.yaml");
    eprintln!("{}\n--- redisctl.yaml ---\n{base}\n--- adopted.yaml ---\n{overlay}", run.stdout);
    assert!(run.stdout.contains("CATALOG_AUTH_TOKEN") && overlay.contains("fromEnv: CATALOG_AUTH_TOKEN"), "{overlay}");
    assert!(run.stdout.contains("recorded as the one in use"), "{}", run.show());
    assert!(
        overlay.contains("replicationGroupId: \"catalog-prod\"") && overlay.contains("cache.t4g.small"),
        "{overlay}"
    );
    let plan = env.run(&["plan", "--env", "adopted", "--detailed-exitcode"]);
    assert_eq!(plan.code, Some(0), "the plan right after import shows changes:\n{}", plan.show());
    assert!(plan.stdout.contains("No changes"), "{}", plan.show());
    // A token other than the one in use is a rotation, as for any environment.
    env.token = NEW_TOKEN.into();
    let rotation = env.plan_json_of("adopted");
    assert_eq!(
        elasticache_changes(&rotation),
        vec![("elasticache:auth-token/catalog-prod".to_string(), "[\"update\"]".to_string())],
        "{rotation:#}"
    );
    env.token = TOKEN.into();

    // Without the token: exactly the rotation import listed, nothing else.
    env.project = TempProject::new(&[]);
    let run = import(&mut env, false);
    assert!(run.stdout.contains("as a rotation to the token CATALOG_AUTH_TOKEN gives"), "{}", run.show());
    let plan = env.plan_json_of("adopted");
    assert_eq!(
        elasticache_changes(&plan),
        vec![("elasticache:auth-token/catalog-prod".to_string(), "[\"update\"]".to_string())],
        "{plan:#}"
    );
    let summary = &plan["summary"];
    let counts = (summary["add"].as_u64(), summary["change"].as_u64(), summary["destroy"].as_u64());
    assert_eq!(counts, (Some(0), Some(1), Some(0)), "{plan:#}");

    for o in env.outputs.iter().chain([&base, &overlay]) {
        assert!(!o.contains(TOKEN) && !o.contains(NEW_TOKEN), "the AUTH token in an output:\n{o}");
    }
    env.project = source;
}
