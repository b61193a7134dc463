//! Secrets never leave their source: render every environment of the sample and of every
//! example with known, distinctive passwords (environment variables and secret files), and
//! check that no plaintext password appears in any rendered file, or in the stdout/stderr of
//! `validate` (text and JSON), `render` and `plan` — also when the contract is invalid, and
//! when a password was (wrongly) written into the contract itself.

use std::path::Path;

use crate::common::*;
use sha2::{Digest, Sha256};

/// Distinctive values for the sample's password variables.
const ENV_SECRETS: [(&str, &str); 5] = [
    ("CATALOG_REDIS_PASSWORD", "Leak-Canary-env-app-5b1d93"),
    ("CATALOG_REDIS_REPLICATION_PASSWORD", "Leak-Canary-env-repl-0c7e21"),
    ("CATALOG_REDIS_SENTINEL_PASSWORD", "Leak-Canary-env-sentinel-9a4f08"),
    ("CATALOG_REDIS_OPS_PASSWORD", "Leak-Canary-env-ops-e6b352"),
    ("CATALOG_REDIS_METRICS_PASSWORD", "Leak-Canary-env-metrics-2d7c40"),
];

/// Overwrite every secret file of the project with a distinctive value; returns the values.
fn plant_file_secrets(p: &TempProject) -> Vec<String> {
    let mut planted = Vec::new();
    for (i, rel) in read_tree(&p.path().join("secrets")).into_keys().enumerate() {
        let secret = format!("Leak-Canary-file-{i}-{}", rel.replace(['/', '.'], "-"));
        p.write(&format!("secrets/{rel}"), format!("{secret}\n"));
        planted.push(secret);
    }
    planted
}

/// The places a secret must never appear: the text of a run, or any file under a directory.
#[track_caller]
fn assert_absent(secrets: &[String], what: &str, text: &str) {
    for s in secrets {
        assert!(!text.contains(s.as_str()), "a plaintext password appears in {what}:\n{text}");
    }
}

#[track_caller]
fn assert_absent_in_tree(secrets: &[String], dir: &Path) {
    for (rel, bytes) in read_tree(dir) {
        assert_absent(secrets, &rel, &String::from_utf8_lossy(&bytes));
    }
}

fn run(p: &TempProject, args: &[&str]) -> Run {
    let mut cmd = p.cmd();
    cmd.args(args);
    for (k, v) in ENV_SECRETS {
        cmd.env(k, v);
    }
    Run::of(&mut cmd)
}

/// Render and validate every environment of a (copied) project with planted secrets.
fn check_project(src: &Path) {
    let p = TempProject::copy_of(src);
    let mut secrets = plant_file_secrets(&p);
    secrets.extend(ENV_SECRETS.iter().map(|(_, v)| v.to_string()));
    let mut used = Vec::new();

    for env in environments(p.path()) {
        let out = tempfile::tempdir().unwrap();
        let outputs = [
            run(&p, &["validate", "--env", &env]).assert_code(0).show(),
            run(&p, &["validate", "--env", &env, "--format", "json"]).assert_code(0).show(),
            run(&p, &["render", "--env", &env, "--out", out.path().to_str().unwrap()]).assert_code(0).show(),
            run(&p, &["plan", "--env", &env]).assert_code(0).show(),
            run(&p, &["plan", "--env", &env, "--format", "json"]).assert_code(0).show(),
        ];
        for (i, text) in outputs.iter().enumerate() {
            assert_absent(&secrets, &format!("the output of command {i} for `{env}`"), text);
        }
        assert_absent_in_tree(&secrets, out.path());

        // The secrets were read: the ACL file holds their hashes (targets that pass passwords
        // by reference, like kubernetes, have no ACL file).
        let acl: String = read_tree(out.path())
            .into_iter()
            .filter(|(rel, _)| rel.ends_with("users.acl"))
            .map(|(_, bytes)| String::from_utf8_lossy(&bytes).into_owned())
            .collect();
        used.extend(secrets.iter().filter(|s| acl.contains(&hex::encode(Sha256::digest(s.as_bytes())))).cloned());
    }
    assert_absent(&secrets, "validate --all", &run(&p, &["validate", "--all"]).assert_code(0).show());
    // Nothing was written into the project (plan writes nothing; render went to --out).
    for (rel, bytes) in read_tree(p.path()) {
        if !rel.starts_with("secrets/") {
            assert_absent(&secrets, &rel, &String::from_utf8_lossy(&bytes));
        }
    }
    assert!(!used.is_empty(), "no planted secret was used: the test would prove nothing");
}

#[test]
fn sample_environments_leak_no_secret() {
    check_project(&repo_root());
}

#[test]
fn examples_leak_no_secret() {
    for example in EXAMPLES {
        check_project(&example_dir(example));
    }
}

/// Every planted secret of the sample is used by some environment (files by `local`,
/// variables by `production`), so the checks above cover both sources.
#[test]
fn sample_uses_both_secret_sources() {
    let p = TempProject::copy_of(&repo_root());
    let files = plant_file_secrets(&p);
    for (env, expected) in [("local", files.clone()), ("production", ENV_SECRETS.map(|(_, v)| v.to_string()).to_vec())]
    {
        let out = tempfile::tempdir().unwrap();
        run(&p, &["render", "--env", env, "--out", out.path().to_str().unwrap()]).assert_code(0);
        let acl: String = read_tree(out.path())
            .into_iter()
            .filter(|(rel, _)| rel.ends_with("users.acl"))
            .map(|(_, bytes)| String::from_utf8_lossy(&bytes).into_owned())
            .collect();
        for s in &expected {
            assert!(
                acl.contains(&hex::encode(Sha256::digest(s.as_bytes()))),
                "{env}: the hash of a planted secret is missing"
            );
        }
    }
}

/// An invalid contract: the diagnostics, the summary and the JSON name variables and files,
/// never values.
#[test]
fn invalid_contract_leaks_no_secret() {
    let p = TempProject::copy_of(&repo_root());
    let mut secrets = plant_file_secrets(&p);
    secrets.extend(ENV_SECRETS.iter().map(|(_, v)| v.to_string()));
    // Something unrelated is wrong, in the base and in an overlay.
    let base = p.read("redisctl.yaml").replace("tcp-keepalive: 60", "tcp-keepaliv: 60");
    p.write("redisctl.yaml", base);
    let local = p.read("environments/local.yaml").replace("sentinels: 3", "sentinels: 2");
    p.write("environments/local.yaml", local);

    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("out");
    for env in ["local", "staging", "production"] {
        for args in [
            vec!["validate", "--env", env],
            vec!["validate", "--env", env, "--format", "json"],
            vec!["render", "--env", env, "--out", target.to_str().unwrap()],
            vec!["plan", "--env", env],
        ] {
            let r = run(&p, &args);
            r.assert_code(1);
            assert!(r.stderr.contains("tcp-keepaliv") || r.stdout.contains("tcp-keepaliv"), "{}", r.show());
            assert_absent(&secrets, &format!("{args:?}"), &r.show());
        }
    }
    assert!(!target.exists());
}

/// A secret that is itself invalid (a newline in the variable, an empty file): the error names
/// the variable or file and shows no part of the value.
#[test]
fn invalid_secret_values_are_not_shown() {
    let p = TempProject::copy_of(&repo_root());
    p.write("secrets/local/ops.password", "Leak-Canary-first-line\nLeak-Canary-second-line\n");
    // validate needs no value: a warning; render needs it: an error. Neither shows it.
    let local = run(&p, &["validate", "--env", "local"]);
    local.assert_code(0);
    assert!(local.stderr.contains("warning[RCTL050]"), "{}", local.show());
    assert!(local.stderr.contains("secrets/local/ops.password contains a control character"), "{}", local.show());
    assert_absent(&["Leak-Canary".to_string()], "validate", &local.show());
    let out = p.path().join("rendered");
    let render = run(&p, &["render", "--env", "local", "--out", out.to_str().unwrap()]);
    render.assert_code(1);
    assert!(render.stderr.contains("error[RCTL050]"), "{}", render.show());
    assert!(render.stderr.contains("secrets/local/ops.password contains a control character"), "{}", render.show());
    assert_absent(&["Leak-Canary".to_string()], "render", &render.show());

    let mut cmd = p.cmd();
    cmd.args(["validate", "--env", "production", "--format", "json"]);
    for (k, v) in ENV_SECRETS {
        cmd.env(k, v);
    }
    cmd.env("CATALOG_REDIS_OPS_PASSWORD", "Leak-Canary-env-a\nLeak-Canary-env-b");
    let staging = Run::of(&mut cmd);
    staging.assert_code(0);
    assert!(staging.stdout.contains("environment variable CATALOG_REDIS_OPS_PASSWORD contains a control character"));
    assert_absent(&["Leak-Canary".to_string()], "validate --format json", &staging.show());
}

/// A password written into the contract is rejected, and the diagnostic's source snippet
/// does not repeat it (nor does anything else).
#[test]
fn inline_secrets_in_the_contract_are_not_echoed() {
    let inline = [
        ("inline password", "password: { fromEnv: CATALOG_REDIS_PASSWORD }", "password: Leak-Canary-inline-1"),
        (
            "password next to a reference",
            "password: { fromEnv: CATALOG_REDIS_PASSWORD }",
            "password: { fromEnv: CATALOG_REDIS_PASSWORD, value: Leak-Canary-inline-2 }",
        ),
        (
            "password in the variable-name slot",
            "password: { fromEnv: CATALOG_REDIS_PASSWORD }",
            "password: { fromEnv: \"Leak-Canary inline 3\" }",
        ),
        ("requirepass in redis.config", "    timeout: 300\n", "    requirepass: Leak-Canary-inline-4\n"),
        ("masterauth in redis.config", "    timeout: 300\n", "    masterauth: Leak-Canary-inline-5\n"),
    ];
    for (what, old, new) in inline {
        let p = TempProject::copy_of(&repo_root());
        let base = p.read("redisctl.yaml");
        assert!(base.contains(old), "{what}");
        p.write("redisctl.yaml", base.replacen(old, new, 1));
        for args in [
            vec!["validate", "--env", "staging"],
            vec!["validate", "--env", "staging", "--format", "json"],
            vec!["render", "--env", "staging", "--out", "out"],
        ] {
            let r = run(&p, &args);
            r.assert_code(1);
            assert!(
                r.stderr.contains("error[") || r.stdout.contains("\"severity\": \"error\""),
                "{what}: {}",
                r.show()
            );
            assert_absent(&["Leak-Canary".to_string()], &format!("{what}: {args:?}"), &r.show());
        }
    }
}

/// Hardening: a secret written inline where a reference belongs is never echoed, whatever the
/// schema says about it: not in the message, not in the source snippet, in text or JSON.
#[test]
fn inline_secrets_in_schema_errors_are_never_shown() {
    let p = TempProject::copy_of(&example_dir("elasticache-session"));
    let cases = [
        ("auth", "security: { auth: { password: Hunter2-Inline-Secret } }\n", "Hunter2-Inline-Secret"),
        (
            "token",
            "target: elasticache\naws: { region: us-east-1, nodeType: cache.t4g.small, authToken: Tok3n-Inline-Literal }\n",
            "Tok3n-Inline-Literal",
        ),
        (
            "previous",
            "target: elasticache\naws: { region: us-east-1, nodeType: cache.t4g.small, previousPasswords: { app: Old-Inline-Pass } }\n",
            "Old-Inline-Pass",
        ),
    ];
    for (env, overlay, secret) in cases {
        p.write(&format!("environments/{env}.yaml"), overlay);
        for format in ["text", "json"] {
            let o = Run::of(p.cmd_on().args(["validate", "--env", env, "--format", format]));
            assert_eq!(o.code, Some(1), "{env} is invalid: {}", o.show());
            assert!(!o.text().contains(secret), "{env} ({format}) echoed the secret:\n{}", o.show());
        }
    }
}
