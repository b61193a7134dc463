//! Bad input: every case is a valid temporary project with one thing broken. For each, the
//! binary must exit 1 with the expected diagnostic (code, message, hint) located at the
//! expected `file:line:column` — in the text output (` --> file:line:col`) and in
//! `--format json` — and `render` must write nothing, neither into `--out` nor into the project.

use std::collections::BTreeMap;

use crate::common::*;

/// A valid contract; each case breaks one thing. Line numbers below refer to this text.
const BASE: &str = r#"apiVersion: redisctl/v1
service: demo
redis:
  version: "7.0"
  workload: cache
  maxmemoryPolicy: allkeys-lru
  persistence:
    mode: none
  config:
    timeout: 300
    tcp-keepalive: 60
keyspace:
  prefix: demo
  clusterSafe: true
acl:
  users:
    - name: demo-app
      password: { fromFile: secrets/app.password }
      keys: ["demo:*"]
      commands: ["+@read", "+@write", "-@dangerous"]
    - name: replicator
      role: replication
      password: { fromFile: secrets/replicator.password }
    - name: sentinel
      role: sentinel
      password: { fromFile: secrets/sentinel.password }
    - name: ops
      role: operator
      password: { fromFile: secrets/ops.password }
resources:
  maxmemory: 64mb
"#;

/// The `dev` overlay; cases append to it (from line 5 on) or replace it.
const DEV: &str = "target: process\nports:\n  redis: 17100\n  sentinel: 27100\n";

const BASE_FILE: &str = "redisctl.yaml";
const DEV_FILE: &str = "environments/dev.yaml";

struct Case {
    name: &'static str,
    /// Files written over the valid project.
    files: Vec<(&'static str, Vec<u8>)>,
    /// Environment given to `--env`.
    env: &'static str,
    env_vars: Vec<(&'static str, &'static str)>,
    code: &'static str,
    /// A substring of the diagnostic's message.
    message: String,
    /// `file:line:column` of the diagnostic; `None` only where no file exists to point into.
    at: Option<&'static str>,
    /// A substring of the hint, if the diagnostic must have one.
    hint: Option<&'static str>,
    /// A problem only for the commands that read secret values (render, plan, apply):
    /// `validate` reports it as a warning at the same place and succeeds.
    needs_value: bool,
}

impl Case {
    fn new(name: &'static str, code: &'static str, message: impl Into<String>, at: &'static str) -> Case {
        Case {
            name,
            files: Vec::new(),
            env: "dev",
            env_vars: Vec::new(),
            code,
            message: message.into(),
            at: Some(at),
            hint: None,
            needs_value: false,
        }
    }
    fn file(mut self, path: &'static str, content: impl Into<Vec<u8>>) -> Case {
        self.files.push((path, content.into()));
        self
    }
    /// The base contract with `old` replaced by `new` (exactly one occurrence).
    fn base(self, old: &str, new: &str) -> Case {
        assert_eq!(BASE.matches(old).count(), 1, "{}: `{old}` must occur once in BASE", self.name);
        let text = BASE.replace(old, new);
        self.file(BASE_FILE, text)
    }
    /// The dev overlay with `extra` appended (it starts on line 5).
    fn dev(self, extra: &str) -> Case {
        self.file(DEV_FILE, format!("{DEV}{extra}"))
    }
    fn hint(mut self, hint: &'static str) -> Case {
        self.hint = Some(hint);
        self
    }
    fn env(mut self, env: &'static str) -> Case {
        self.env = env;
        self
    }
    fn var(mut self, name: &'static str, value: &'static str) -> Case {
        self.env_vars.push((name, value));
        self
    }
    fn needs_value(mut self) -> Case {
        self.needs_value = true;
        self
    }
    fn nowhere(mut self) -> Case {
        self.at = None;
        self
    }

    fn project(&self) -> TempProject {
        let p = TempProject::new(&[
            (BASE_FILE, BASE),
            (DEV_FILE, DEV),
            ("secrets/app.password", "demo-app-dev-password\n"),
            ("secrets/replicator.password", "demo-repl-dev-password\n"),
            ("secrets/sentinel.password", "demo-sentinel-dev-password\n"),
            ("secrets/ops.password", "demo-ops-dev-password\n"),
        ]);
        for (path, content) in &self.files {
            p.write(path, content);
        }
        p
    }

    fn cmd(&self, p: &TempProject, args: &[&str]) -> Run {
        let mut cmd = p.cmd();
        cmd.args(args);
        for (k, v) in &self.env_vars {
            cmd.env(k, v);
        }
        Run::of(&mut cmd)
    }
}

/// The full check of one case.
fn check(case: &Case) {
    let p = case.project();
    let before = read_tree(p.path());
    let name = case.name;

    // Text output: `error[CODE]: message`, ` --> file:line:col`, `= help: hint`. A problem
    // of the secret values alone is a warning for validate, and an error for render and plan.
    let (severity, code, summary) = if case.needs_value { ("warning", 0, "valid") } else { ("error", 1, "invalid") };
    let run = case.cmd(&p, &["validate", "--env", case.env]);
    run.assert_code(code);
    assert_located(case, severity, &run);
    let line = run.stdout.lines().find(|l| l.starts_with(case.env)).unwrap_or_default();
    assert!(line.contains(&format!(": {summary} (")), "{name}: summary line\n{}", run.show());
    if case.needs_value {
        let out = tempfile::tempdir().unwrap();
        let out = out.path().join("rendered");
        for args in [&["plan", "--env", case.env][..], &["render", "--env", case.env, "--out", out.to_str().unwrap()]] {
            let run = case.cmd(&p, args);
            run.assert_code(1);
            assert_located(case, "error", &run);
        }
    }

    // The same finding, for machines.
    let run = case.cmd(&p, &["validate", "--env", case.env, "--format", "json"]);
    run.assert_code(code);
    let json: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{name}: invalid JSON ({e})\n{}", run.show()));
    assert_eq!(json["valid"], case.needs_value, "{name}");
    let diags = json["environments"][0]["diagnostics"].as_array().expect("diagnostics array");
    let d = diags
        .iter()
        .find(|d| d["code"] == case.code && d["message"].as_str().is_some_and(|m| m.contains(&case.message)))
        .unwrap_or_else(|| panic!("{name}: diagnostic missing from JSON\n{}", run.stdout));
    assert_eq!(d["severity"], severity, "{name}");
    match case.at {
        Some(at) => {
            let (file, rest) = at.split_once(':').unwrap();
            let (line, column) = rest.split_once(':').unwrap();
            assert_eq!(d["file"], file, "{name}: {d}");
            assert_eq!(d["line"].to_string(), line, "{name}: {d}");
            assert_eq!(d["column"].to_string(), column, "{name}: {d}");
        }
        None => assert!(d["line"].is_null(), "{name}: {d}"),
    }

    // Nothing is written: not into --out, not into the project's own output directory.
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("rendered");
    let run = case.cmd(&p, &["render", "--env", case.env, "--out", target.to_str().unwrap()]);
    run.assert_code(1);
    assert!(run.stderr.contains(&case.message), "{name}: render must report the problem\n{}", run.show());
    assert!(!target.exists(), "{name}: render wrote {:?}", read_tree(&target).keys().collect::<Vec<_>>());
    let run = case.cmd(&p, &["render", "--env", case.env]);
    run.assert_code(1);
    let after = read_tree(p.path());
    assert!(before == after, "{name}: the project changed: {:?}", changed(&before, &after));
}

/// `run`'s stderr holds the case's diagnostic with `severity`, at its place, with its hint.
#[track_caller]
fn assert_located(case: &Case, severity: &str, run: &Run) {
    let name = case.name;
    let header = format!("{severity}[{}]: ", case.code);
    let diag = run
        .stderr
        .split("\n\n")
        .find(|d| d.contains(&header) && d.contains(&case.message))
        .unwrap_or_else(|| panic!("{name}: no `{header}...{}` diagnostic\n{}", case.message, run.show()));
    match case.at {
        Some(at) => assert!(diag.contains(&format!(" --> {at}\n")), "{name}: expected ` --> {at}` in\n{diag}"),
        None => assert!(!diag.contains(" --> "), "{name}: expected no location in\n{diag}"),
    }
    if let Some(hint) = case.hint {
        assert!(diag.contains("= help: ") && diag.contains(hint), "{name}: expected hint `{hint}` in\n{diag}");
    }
}

fn changed(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter().filter(|k| a.get(*k) != b.get(*k)).cloned().collect()
}

/// A YAML "billion laughs": 9 levels of 9 aliases expand to 9^9 nodes.
fn billion_laughs() -> String {
    let mut doc = String::from("lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..9 {
        doc.push_str(&format!("lol{i}: &l{i} [{}]\n", vec![format!("*l{}", i - 1); 9].join(", ")));
    }
    doc
}

// --- YAML -------------------------------------------------------------------------------

fn yaml_syntax_error() -> Case {
    Case::new("yaml_syntax_error", "RCTL001", "mapping values are not allowed", "redisctl.yaml:13:15")
        .base("  prefix: demo\n", "  prefix: demo: x\n")
}

fn yaml_unclosed_flow_sequence() -> Case {
    // A flow sequence may span lines: the parser notices on the next line, where the
    // indentation drops back.
    Case::new("yaml_unclosed_flow_sequence", "RCTL001", "invalid indentation", "redisctl.yaml:21:5")
        .base(r#"commands: ["+@read", "+@write", "-@dangerous"]"#, r#"commands: ["+@read", "+@write""#)
}

fn duplicate_key() -> Case {
    Case::new("duplicate_key", "RCTL002", "duplicate key `ports`", "environments/dev.yaml:5:1")
        .dev("ports:\n  redis: 17200\n")
        .hint("already set on line 2")
}

fn duplicate_key_nested() -> Case {
    Case::new("duplicate_key_nested", "RCTL002", "duplicate key `workload`", "redisctl.yaml:6:3")
        .base("  maxmemoryPolicy: allkeys-lru\n", "  workload: state\n  maxmemoryPolicy: allkeys-lru\n")
        .hint("already set on line 5")
}

fn tab_indentation() -> Case {
    Case::new("tab_indentation", "RCTL001", "invalid YAML", "environments/dev.yaml:3:1")
        .file(DEV_FILE, "target: process\nports:\n\tredis: 17100\n")
        .hint("tab")
}

fn alias_bomb() -> Case {
    // Nodes are counted while aliases expand: `lol0`..`lol4` make ~66,000, and the first
    // alias of `lol5` (line 10, column 12) goes over the budget.
    Case::new("alias_bomb", "RCTL003", "expands to more than 100000 nodes", "environments/dev.yaml:10:12")
        .dev(&billion_laughs())
        .hint("billion laughs")
}

fn yaml_tag() -> Case {
    Case::new(
        "yaml_tag",
        "RCTL001",
        "YAML tag `tag:yaml.org,2002:binary` is not supported",
        "environments/dev.yaml:5:10",
    )
    .dev("service: !!binary ZGVtbw==\n")
}

fn two_documents() -> Case {
    Case::new("two_documents", "RCTL001", "exactly one YAML document", "environments/dev.yaml:5:1")
        .dev("---\ntarget: process\n")
        .hint("remove the `---` separator")
}

fn top_level_list() -> Case {
    Case::new("top_level_list", "RCTL010", "the top level must be a map, found a list", "environments/dev.yaml:1:1")
        .file(DEV_FILE, "- target: process\n")
}

fn empty_file() -> Case {
    Case::new("empty_file", "RCTL004", "the file is empty", "environments/dev.yaml:1:1").file(DEV_FILE, "").hint("{}")
}

fn comments_only_base() -> Case {
    Case::new("comments_only_base", "RCTL004", "the file is empty", "redisctl.yaml:1:1")
        .file(BASE_FILE, "# nothing here yet\n")
}

fn non_utf8_file() -> Case {
    // Latin-1 "é" (0xE9) on line 5, column 11 (inside the quotes).
    let mut bytes = DEV.as_bytes().to_vec();
    bytes.extend_from_slice(b"service: \"caf\xe9\"\n");
    Case::new("non_utf8_file", "RCTL004", "environments/dev.yaml is not valid UTF-8", "environments/dev.yaml:5:14")
        .file(DEV_FILE, bytes)
        .hint("UTF-8")
}

fn fifty_megabyte_file() -> Case {
    let mut text = String::from(DEV);
    let comment = format!("# {}\n", "x".repeat(1022));
    while text.len() < 50 * 1024 * 1024 {
        text.push_str(&comment);
    }
    Case::new(
        "fifty_megabyte_file",
        "RCTL004",
        "contract files are limited to 1048576 bytes",
        "environments/dev.yaml:1:1",
    )
    .file(DEV_FILE, text)
}

fn deep_nesting() -> Case {
    let doc = format!("resources: {}{}\n", "[".repeat(100), "]".repeat(100));
    Case::new("deep_nesting", "RCTL003", "nesting deeper than 64 levels", "environments/dev.yaml:5:76").dev(&doc)
}

// --- schema: types, keys, enums -----------------------------------------------------------

fn string_where_number() -> Case {
    Case::new(
        "string_where_number",
        "RCTL010",
        "`ports.redis` must be an integer, found a string",
        "environments/dev.yaml:3:10",
    )
    .file(DEV_FILE, "target: process\nports:\n  redis: \"17100\"\n")
}

fn map_where_list() -> Case {
    Case::new("map_where_list", "RCTL010", "`acl.users` must be a list, found a map", "environments/dev.yaml:7:5")
        .dev("acl:\n  users:\n    name: demo-app\n    password: { fromFile: secrets/app.password }\n")
}

fn inline_plaintext_password() -> Case {
    Case::new(
        "inline_plaintext_password",
        "RCTL010",
        "`acl.users.0.password` must be a map, found a string",
        "redisctl.yaml:18:17",
    )
    .base("password: { fromFile: secrets/app.password }", "password: hunter2-inline")
    .hint("inline passwords are not allowed")
}

fn two_password_sources() -> Case {
    Case::new(
        "two_password_sources",
        "RCTL016",
        "`acl.users.1.password` needs exactly one source",
        "redisctl.yaml:23:17",
    )
    .base(
        "password: { fromFile: secrets/replicator.password }",
        "password: { fromFile: secrets/replicator.password, fromEnv: DEMO_REPL }",
    )
    .hint("either `fromEnv: VAR` or `fromFile: path`")
}

fn missing_required_key() -> Case {
    Case::new("missing_required_key", "RCTL012", "missing required key `workload` in `redis`", "redisctl.yaml:4:3")
        .base("  workload: cache\n", "")
}

fn unknown_top_level_key() -> Case {
    Case::new("unknown_top_level_key", "RCTL011", "unknown key `taget` in the contract", "environments/dev.yaml:1:1")
        .file(DEV_FILE, "taget: process\n")
        .hint("did you mean `target`?")
}

fn unknown_nested_key() -> Case {
    Case::new("unknown_nested_key", "RCTL011", "unknown key `maxmemroy` in `resources`", "environments/dev.yaml:6:3")
        .dev("resources:\n  maxmemroy: 32mb\n")
        .hint("did you mean `maxmemory`?")
}

fn enum_typo() -> Case {
    Case::new("enum_typo", "RCTL013", "`redis.workload`: `cach` is not one of cache, session", "redisctl.yaml:5:13")
        .base("workload: cache", "workload: cach")
        .hint("did you mean `cache`?")
}

fn enum_typo_in_overlay() -> Case {
    Case::new(
        "enum_typo_in_overlay",
        "RCTL013",
        "`target`: `proces` is not one of process",
        "environments/dev.yaml:1:9",
    )
    .file(DEV_FILE, "target: proces\n")
    .hint("did you mean `process`?")
}

fn api_version_wrong() -> Case {
    Case::new(
        "api_version_wrong",
        "RCTL013",
        "`apiVersion`: `redisctl/v2` is not one of redisctl/v1",
        "redisctl.yaml:1:13",
    )
    .base("apiVersion: redisctl/v1", "apiVersion: redisctl/v2")
}

fn unsupported_redis_version() -> Case {
    Case::new(
        "unsupported_redis_version",
        "RCTL013",
        "`redis.version`: `7.1` is not one of 6.2, 7.0",
        "redisctl.yaml:4:12",
    )
    .base(r#"version: "7.0""#, r#"version: "7.1""#)
}

fn duration_without_unit() -> Case {
    Case::new(
        "duration_without_unit",
        "RCTL010",
        "`client.commandTimeout` must be a string, found a number",
        "environments/dev.yaml:6:19",
    )
    .dev("client:\n  commandTimeout: 500\n")
}

// --- sizes -----------------------------------------------------------------------------

fn negative_size() -> Case {
    Case::new("negative_size", "RCTL010", r#"`resources.maxmemory`: "-1mb" is not valid"#, "environments/dev.yaml:6:14")
        .dev("resources:\n  maxmemory: -1mb\n")
        .hint("expected a memory size")
}

fn overflowing_size() -> Case {
    Case::new("overflowing_size", "RCTL010", "`99999999999999999999gb` is too large", "environments/dev.yaml:6:14")
        .dev("resources:\n  maxmemory: 99999999999999999999gb\n")
}

fn overflowing_size_times_unit() -> Case {
    Case::new("overflowing_size_times_unit", "RCTL010", "`99999999999gb` is too large", "environments/dev.yaml:6:14")
        .dev("resources:\n  maxmemory: 99999999999gb\n")
}

fn overflowing_integer() -> Case {
    Case::new(
        "overflowing_integer",
        "RCTL010",
        "integer `99999999999999999999` is out of range",
        "environments/dev.yaml:6:14",
    )
    .dev("resources:\n  maxmemory: 99999999999999999999\n")
}

fn fractional_size() -> Case {
    Case::new("fractional_size", "RCTL010", r#""1.5gb" is not valid"#, "redisctl.yaml:31:14")
        .base("maxmemory: 64mb", "maxmemory: 1.5gb")
        .hint("whole number")
}

// --- redis.config directives ---------------------------------------------------------------

fn directive_typo() -> Case {
    Case::new("directive_typo", "RCTL030", "unknown redis.conf directive `tcp-keepaliv`", "redisctl.yaml:11:5")
        .base("tcp-keepalive: 60", "tcp-keepaliv: 60")
        .hint("did you mean `tcp-keepalive`?")
}

fn directive_typo_policy() -> Case {
    Case::new(
        "directive_typo_policy",
        "RCTL030",
        "unknown redis.conf directive `maxmemory-polcy`",
        "environments/dev.yaml:7:5",
    )
    .dev("redis:\n  config:\n    maxmemory-polcy: allkeys-lru\n")
    .hint("did you mean `maxmemory-policy`?")
}

fn unknown_directive() -> Case {
    Case::new(
        "unknown_directive",
        "RCTL030",
        "unknown redis.conf directive `make-it-fast`",
        "environments/dev.yaml:7:5",
    )
    .dev("redis:\n  config:\n    make-it-fast: yes\n")
}

fn version_gated_directive() -> Case {
    Case::new(
        "version_gated_directive",
        "RCTL031",
        "`maxmemory-clients` needs Redis 7.0 or later; this contract uses 6.2",
        "redisctl.yaml:11:5",
    )
    .base("    tcp-keepalive: 60\n", "    maxmemory-clients: 10%\n")
    .base_version("6.2")
    .hint("raise `redis.version` to 7.0")
}

fn version_gated_directive_7_2() -> Case {
    Case::new(
        "version_gated_directive_7_2",
        "RCTL031",
        "`locale-collate` needs Redis 7.2 or later; this contract uses 7.0",
        "environments/dev.yaml:7:5",
    )
    .dev("redis:\n  config:\n    locale-collate: C\n")
}

fn reserved_directive_port() -> Case {
    Case::new(
        "reserved_directive_port",
        "RCTL032",
        "`port` is set by redisctl and cannot be given in `redis.config`",
        "environments/dev.yaml:7:5",
    )
    .dev("redis:\n  config:\n    port: 6380\n")
    .hint("ports.redis")
}

fn reserved_directive_maxmemory() -> Case {
    Case::new(
        "reserved_directive_maxmemory",
        "RCTL032",
        "`maxmemory` is set by redisctl and cannot be given in `redis.config`",
        "redisctl.yaml:10:5",
    )
    .base("    timeout: 300\n", "    maxmemory: 1gb\n")
    .hint("resources.maxmemory")
}

fn sensitive_directive() -> Case {
    Case::new("sensitive_directive", "RCTL032", "`tls-key-file-pass` holds a secret", "environments/dev.yaml:7:5")
        .dev("redis:\n  config:\n    tls-key-file-pass: hunter2\n")
        .hint("acl.users[].password")
}

fn directive_wrong_value_type() -> Case {
    Case::new(
        "directive_wrong_value_type",
        "RCTL033",
        "`timeout` takes a whole number, not `5min`",
        "redisctl.yaml:10:14",
    )
    .base("timeout: 300", "timeout: 5min")
}

fn directive_given_twice() -> Case {
    Case::new(
        "directive_given_twice",
        "RCTL034",
        "`Timeout` sets the same directive as `timeout`",
        "environments/dev.yaml:7:5",
    )
    .dev("redis:\n  config:\n    Timeout: 60\n")
    .hint("case-insensitive")
}

// --- injection ------------------------------------------------------------------------------

fn newline_in_directive_value() -> Case {
    Case::new(
        "newline_in_directive_value",
        "RCTL060",
        "`redis.config.timeout` value contains the control character '\\n'",
        "environments/dev.yaml:7:14",
    )
    .dev("redis:\n  config:\n    timeout: \"300\\nrequirepass x\"\n")
    .hint("inject extra lines")
}

fn newline_in_user_name() -> Case {
    Case::new(
        "newline_in_user_name",
        "RCTL060",
        "`acl.users.0.name` value contains the control character '\\n'",
        "redisctl.yaml:17:13",
    )
    .base("name: demo-app", r#"name: "demo-app\nuser evil on nopass ~* +@all""#)
}

fn nul_in_directive_key() -> Case {
    Case::new(
        "nul_in_directive_key",
        "RCTL060",
        "key contains the control character '\\0'",
        "environments/dev.yaml:7:5",
    )
    .dev("redis:\n  config:\n    \"time\\0out\": 1\n")
}

// --- secrets ---------------------------------------------------------------------------------

fn missing_env_var() -> Case {
    Case::new(
        "missing_env_var",
        "RCTL050",
        "password of ACL user `replicator`: environment variable DEMO_REDISCTL_TEST_UNSET_PW is not set",
        "redisctl.yaml:23:17",
    )
    .base("{ fromFile: secrets/replicator.password }", "{ fromEnv: DEMO_REDISCTL_TEST_UNSET_PW }")
    .hint("export DEMO_REDISCTL_TEST_UNSET_PW=")
    .needs_value()
}

fn missing_secret_file() -> Case {
    Case::new(
        "missing_secret_file",
        "RCTL050",
        "password of ACL user `demo-app`: cannot read secret file",
        "environments/dev.yaml:8:17",
    )
    .dev(
        "acl:\n  users:\n    - name: demo-app\n      password: { fromFile: secrets/nope.password }\n    \
         - { name: ops, role: operator, password: { fromFile: secrets/app.password } }\n",
    )
    .needs_value()
}

fn state_s3_without_bucket() -> Case {
    Case::new(
        "state_s3_without_bucket",
        "RCTL085",
        "`state.backend: s3` needs `state.bucket`",
        "environments/dev.yaml:5:19",
    )
    .dev("state: { backend: s3 }\n")
    .hint("name the bucket")
}

fn sentinel_password_sentinel_cannot_write_back() -> Case {
    Case::new(
        "sentinel_password_sentinel_cannot_write_back",
        "RCTL056",
        "password of Sentinel user `sentinel` has a space, quote or backslash",
        "redisctl.yaml:26:17",
    )
    .dev("topology: { mode: sentinel, replicas: 1, sentinels: 3 }\n")
    .file("secrets/sentinel.password", "demo \"sentinel\" pass\n")
    .hint("openssl rand -hex 32")
}

fn nul_byte() -> Case {
    Case::new("nul_byte", "RCTL001", "unprintable character", "environments/dev.yaml:1:16")
        .file(DEV_FILE, "target: process\0\n")
        .hint("a NUL byte")
}

fn merge_key() -> Case {
    Case::new("merge_key", "RCTL011", "unknown key `<<` in `redis`", "environments/dev.yaml:6:3")
        .dev("redis:\n  <<: { timeout: 3 }\n")
        .hint("merge keys (`<<: *anchor`) are not supported")
}

fn missing_previous_password() -> Case {
    Case::new(
        "missing_previous_password",
        "RCTL050",
        "previousPassword of ACL user `demo-app`: environment variable DEMO_UNSET_OLD_PW is not set",
        "redisctl.yaml:19:25",
    )
    .base(
        "      password: { fromFile: secrets/app.password }\n",
        "      password: { fromFile: secrets/app.password }\n      previousPassword: { fromEnv: DEMO_UNSET_OLD_PW }\n",
    )
    .needs_value()
}

fn previous_password_on_containers() -> Case {
    Case::new(
        "previous_password_on_containers",
        "RCTL140",
        "target `compose` has no rotation window",
        "redisctl.yaml:19:7",
    )
    .base(
        "      password: { fromFile: secrets/app.password }\n",
        "      password: { fromFile: secrets/app.password }\n      previousPassword: { fromFile: secrets/app.password }\n",
    )
    .file(DEV_FILE, "target: compose\nsecurity: { auth: required }\n")
    .hint("remove `previousPassword`")
}

fn empty_secret() -> Case {
    Case::new("empty_secret", "RCTL050", "environment variable DEMO_EMPTY_PW is empty", "redisctl.yaml:18:17")
        .base("{ fromFile: secrets/app.password }", "{ fromEnv: DEMO_EMPTY_PW }")
        .var("DEMO_EMPTY_PW", "")
        .needs_value()
}

// --- topology ---------------------------------------------------------------------------------

fn sentinel_with_two_sentinels() -> Case {
    Case::new(
        "sentinel_with_two_sentinels",
        "RCTL040",
        "quorum 3 is more than the 2 Sentinels",
        "environments/dev.yaml:9:11",
    )
    // Two Sentinels alone are a readiness finding (RCTL109, tests/fast/policy.rs); a quorum no
    // set of them can reach is a contract error.
    .dev("topology:\n  mode: sentinel\n  replicas: 1\n  sentinels: 2\n  quorum: 3\n")
    .hint("between 2 and 2")
}

fn quorum_not_a_majority() -> Case {
    Case::new("quorum_not_a_majority", "RCTL040", "quorum 6 is more than the 5 Sentinels", "environments/dev.yaml:5:50")
        .dev("topology: {mode: sentinel, sentinels: 5, quorum: 6}\n")
        .hint("between 3 and 5")
}

fn cluster_with_two_shards() -> Case {
    Case::new(
        "cluster_with_two_shards",
        "RCTL040",
        "Redis Cluster needs at least 3 shards, not 2",
        "environments/dev.yaml:7:11",
    )
    .dev("topology:\n  mode: cluster\n  shards: 2\n")
}

fn huge_topology() -> Case {
    Case::new(
        "huge_topology",
        "RCTL015",
        "`topology.shards`: 4294967295 is above the maximum",
        "environments/dev.yaml:7:11",
    )
    .dev("topology:\n  mode: cluster\n  shards: 4294967295\n")
}

fn port_collision() -> Case {
    Case::new(
        "port_collision",
        "RCTL041",
        "port 17102 is used by both node-2 (redis) and sentinel-0",
        "environments/dev.yaml:4:13",
    )
    .file(
        DEV_FILE,
        "target: process\nports:\n  redis: 17100\n  sentinel: 17102\ntopology: {mode: sentinel, replicas: 2}\n",
    )
}

fn port_out_of_range() -> Case {
    Case::new(
        "port_out_of_range",
        "RCTL041",
        "node-1 (cluster bus) would need port 65536",
        "environments/dev.yaml:3:10",
    )
    .file(DEV_FILE, "target: process\nports:\n  redis: 55535\ntopology: {mode: cluster, shards: 3}\n")
}

fn replicas_without_replication_user() -> Case {
    Case::new(
        "replicas_without_replication_user",
        "RCTL051",
        "no ACL user has `role: replication`", "environments/dev.yaml:7:5",
    )
    .dev("acl:\n  users:\n    - name: demo-app\n      password: { fromFile: secrets/app.password }\ntopology: {mode: replication}\n")
}

// --- security and resources ---------------------------------------------------------------------

fn tls_without_certs() -> Case {
    Case::new(
        "tls_without_certs",
        "RCTL070",
        "TLS is enabled but `security.tls.certFile` is not set",
        "environments/dev.yaml:7:14",
    )
    .dev("security:\n  tls:\n    enabled: true\n")
    .hint("certificate")
}

fn memory_limit_below_maxmemory() -> Case {
    Case::new(
        "memory_limit_below_maxmemory",
        "RCTL071",
        "memory limit 32Mi is not above maxmemory 64mb",
        "environments/dev.yaml:6:16",
    )
    .dev("resources:\n  memoryLimit: 32Mi\n")
    .hint("headroom")
}

// --- container image ------------------------------------------------------------------------

/// A compose environment; cases append to it (from line 2 on).
const COMPOSE: &str = "target: compose\n";

fn container_image_floating() -> Case {
    Case::new(
        "container_image_floating",
        "RCTL096",
        "`container.image` `redis:7-alpine` uses the floating tag `7-alpine`",
        "environments/box.yaml:2:21",
    )
    .file("environments/box.yaml", format!("{COMPOSE}container: {{ image: redis:7-alpine }}\n"))
    .env("box")
    .hint("redis:7.0.15")
}

fn container_image_untagged() -> Case {
    Case::new(
        "container_image_untagged",
        "RCTL096",
        "`container.image` `redis` has no tag, which means `latest`",
        "environments/box.yaml:2:21",
    )
    .file("environments/box.yaml", format!("{COMPOSE}container: {{ image: redis }}\n"))
    .env("box")
}

fn container_image_other_version() -> Case {
    Case::new(
        "container_image_other_version",
        "RCTL096",
        "`container.image` `redis:7.2.5-alpine` is Redis 7.2.5, but `redis.version` is 7.0",
        "environments/box.yaml:2:21",
    )
    .file("environments/box.yaml", format!("{COMPOSE}container: {{ image: redis:7.2.5-alpine }}\n"))
    .env("box")
}

fn container_image_bad_digest() -> Case {
    Case::new(
        "container_image_bad_digest",
        "RCTL096",
        "has the digest `sha256:abc`, which is not `sha256:` and 64 hex digits",
        "environments/box.yaml:3:10",
    )
    .file("environments/box.yaml", format!("{COMPOSE}container:\n  image: redis@sha256:abc\n"))
    .env("box")
}

// --- environments -----------------------------------------------------------------------------

fn unknown_environment() -> Case {
    // There is no file to point into: the message names the missing file instead.
    Case::new("unknown_environment", "RCTL005", "no environment `deb`: environments/deb.yaml does not exist", "")
        .env("deb")
        .nowhere()
        .hint("did you mean `dev`?")
}

impl Case {
    /// Set `redis.version` in the (possibly already modified) base contract.
    fn base_version(mut self, version: &str) -> Case {
        let (_, text) = self.files.iter_mut().rev().find(|(p, _)| *p == BASE_FILE).expect("base() first");
        *text = String::from_utf8(text.clone())
            .unwrap()
            .replace(r#"version: "7.0""#, &format!(r#"version: "{version}""#))
            .into_bytes();
        self
    }
}

/// A managed environment; cases append to it.
const AWS: &str = "target: elasticache\nsecurity: { tls: { enabled: true } }\naws: { nodeType: cache.r7g.large }\nresources: { maxmemory: null }\n";

fn elasticache_sets_maxmemory() -> Case {
    Case::new(
        "elasticache_sets_maxmemory",
        "RCTL095",
        "ElastiCache derives maxmemory from `aws.nodeType`",
        "redisctl.yaml:31:3",
    )
    .file("environments/aws.yaml", AWS.replace("resources: { maxmemory: null }\n", ""))
    .env("aws")
    .hint("maxmemory: null")
}

fn elasticache_restricted_directive() -> Case {
    Case::new(
        "elasticache_restricted_directive",
        "RCTL095",
        "`save` cannot be set on ElastiCache",
        "environments/aws.yaml:5:20",
    )
    .file("environments/aws.yaml", format!("{AWS}redis: {{ config: {{ save: \"900 1\" }} }}\n"))
    .env("aws")
}

fn elasticache_aof() -> Case {
    Case::new("elasticache_aof", "RCTL095", "ElastiCache offers no AOF", "environments/aws.yaml:5:31")
        .file("environments/aws.yaml", format!("{AWS}redis: {{ persistence: {{ mode: aof }} }}\n"))
        .env("aws")
        .hint("Multi-AZ replication and daily snapshots")
}

fn elasticache_node_type_typo() -> Case {
    Case::new(
        "elasticache_node_type_typo",
        "RCTL095",
        "unknown ElastiCache node type `cache.r7g.larg`",
        "environments/aws.yaml:3:18",
    )
    .file("environments/aws.yaml", AWS.replace("cache.r7g.large", "cache.r7g.larg"))
    .env("aws")
    .hint("did you mean `cache.r7g.large`?")
}

fn elasticache_redis_7_4() -> Case {
    Case::new(
        "elasticache_redis_7_4",
        "RCTL095",
        "ElastiCache offers no engine with Redis 7.4",
        "environments/aws.yaml:5:19",
    )
    .file("environments/aws.yaml", format!("{AWS}redis: {{ version: \"7.4\" }}\n"))
    .env("aws")
}

// --- checks that used to run only late (issue #14): redis-server refusing the files, servers
// that start and then fail, render-time errors without a location ------------------------------

fn acl_unknown_category() -> Case {
    Case::new(
        "acl_unknown_category",
        "RCTL062",
        "command rule `+@nosuchcategory` of user `demo-app`: Redis 7.0 has no ACL category `@nosuchcategory`",
        "redisctl.yaml:20:18",
    )
    .base(r#""+@read", "+@write""#, r#""+@nosuchcategory", "+@write""#)
    .hint("ACL CAT")
}

fn acl_category_typo() -> Case {
    Case::new("acl_category_typo", "RCTL062", "no ACL category `@dangerus`", "redisctl.yaml:20:39")
        .base(r#""-@dangerous""#, r#""-@dangerus""#)
        .hint("did you mean `-@dangerous`?")
}

fn acl_unknown_command() -> Case {
    Case::new("acl_unknown_command", "RCTL062", "Redis 7.0 has no command `nosuchcommand`", "redisctl.yaml:20:28")
        .base(r#""+@write""#, r#""+nosuchcommand""#)
}

fn acl_command_typo() -> Case {
    Case::new("acl_command_typo", "RCTL062", "Redis 7.0 has no command `flushal`", "redisctl.yaml:20:39")
        .base(r#""-@dangerous""#, r#""-flushal""#)
        .hint("did you mean `-flushall`?")
}

fn acl_unknown_subcommand() -> Case {
    Case::new(
        "acl_unknown_subcommand",
        "RCTL062",
        "`CLUSTER` has no subcommand `slot` in Redis 7.0",
        "redisctl.yaml:20:39",
    )
    .base(r#""-@dangerous""#, r#""+cluster|slot""#)
    .hint("did you mean `+cluster|slots`?")
}

fn acl_removing_part_of_a_command_on_6_2() -> Case {
    Case::new(
        "acl_removing_part_of_a_command_on_6_2",
        "RCTL062",
        "Redis 6.2 cannot remove part of a command: `-config|set` is refused",
        "redisctl.yaml:20:39",
    )
    .base(r#""-@dangerous""#, r#""-config|set""#)
    .base_version("6.2")
}

fn acl_non_ascii_key_pattern() -> Case {
    Case::new(
        "acl_non_ascii_key_pattern",
        "RCTL063",
        "ACL keys rule `démo:*` of user `demo-app` contains 'é', which an ACL file cannot hold",
        "redisctl.yaml:19:14",
    )
    .base(r#"keys: ["demo:*"]"#, r#"keys: ["démo:*"]"#)
    .hint("no quoting or escapes")
}

fn acl_non_ascii_channel_pattern() -> Case {
    Case::new(
        "acl_non_ascii_channel_pattern",
        "RCTL063",
        "ACL channels rule `nouvelles:été` of user `demo-app` contains 'é'",
        "redisctl.yaml:20:18",
    )
    .base(r#"keys: ["demo:*"]"#, "keys: [\"demo:*\"]\n      channels: [\"nouvelles:été\"]")
}

fn snapshot_with_inf() -> Case {
    Case::new(
        "snapshot_with_inf",
        "RCTL035",
        "snapshot point \"300 .inf\" is not `<seconds> <changes>`",
        "environments/dev.yaml:6:51",
    )
    .dev("redis:\n  persistence: { mode: rdb, snapshots: [\"3600 1\", \"300 .inf\"] }\n")
    .hint("seconds at least 1")
}

fn snapshot_not_a_number() -> Case {
    Case::new("snapshot_not_a_number", "RCTL035", "snapshot point \"abc 1\"", "redisctl.yaml:9:17")
        .base("    mode: none\n", "    mode: none\n    snapshots: [\"abc 1\"]\n")
}

fn operator_denies_config() -> Case {
    Case::new(
        "operator_denies_config",
        "RCTL055",
        "the rules of operator user `ops` deny CONFIG GET, CONFIG SET, CONFIG REWRITE",
        "redisctl.yaml:29:17",
    )
    .base("      role: operator\n", "      role: operator\n      commands: [\"+@all\", \"-config\"]\n")
    .hint("+config")
}

fn operator_denies_acl() -> Case {
    Case::new(
        "operator_denies_acl",
        "RCTL055",
        "the rules of operator user `ops` deny ACL LIST, ACL SETUSER, ACL DELUSER",
        "redisctl.yaml:29:17",
    )
    .base("      role: operator\n", "      role: operator\n      commands: [\"+@all\", \"-acl\"]\n")
}

fn systemd_operator_denies_config() -> Case {
    // `plan --live` / `apply --live` log in as the operator; SHUTDOWN is not theirs to send.
    Case::new(
        "systemd_operator_denies_config",
        "RCTL055",
        "the rules of operator user `ops` deny CONFIG SET",
        "redisctl.yaml:29:17",
    )
    .base(
        "      role: operator\n",
        "      role: operator\n      commands: [\"+@all\", \"-config|set\", \"-shutdown\"]\n",
    )
    .file("environments/vm.yaml", "target: systemd\nsystemd: { hosts: [10.0.1.11] }\n")
    .env("vm")
}

fn local_stack_without_users() -> Case {
    Case::new(
        "local_stack_without_users",
        "RCTL054",
        "target `process` needs an ACL user with `role: operator` when `security.auth` is `required`",
        "environments/dev.yaml:6:10",
    )
    .dev("acl:\n  users: []\n")
    .hint("readiness checks")
}

fn local_stack_without_operator() -> Case {
    Case::new(
        "local_stack_without_operator",
        "RCTL054",
        "target `process` needs an ACL user with `role: operator`",
        "environments/dev.yaml:7:5",
    )
    .dev("acl:\n  users:\n    - name: demo-app\n      password: { fromFile: secrets/app.password }\n")
}

/// A container environment; cases append to it (from line 3 on).
const BOX: &str = "target: compose\nports: { redis: 17300, sentinel: 27300 }\n";
const TLS: &str = "security:\n  tls:\n    enabled: true\n    certFile: /tls/tls.crt\n    keyFile: /tls/tls.key\n    caFile: /tls/ca.crt\n";

fn container_without_operator() -> Case {
    Case::new(
        "container_without_operator",
        "RCTL054",
        "target `compose` needs an ACL user with `role: operator`",
        "environments/box.yaml:5:5",
    )
    .file(
        "environments/box.yaml",
        format!("{BOX}acl:\n  users:\n    - name: demo-app\n      password: {{ fromEnv: DEMO_APP_PW }}\n"),
    )
    .env("box")
    .hint("health checks")
}

fn kubernetes_tls_without_secret() -> Case {
    Case::new(
        "kubernetes_tls_without_secret",
        "RCTL074",
        "TLS on target `kubernetes` needs `kubernetes.tlsSecretName`",
        "environments/box.yaml:5:14",
    )
    .file("environments/box.yaml", format!("{}{TLS}", BOX.replace("compose", "kubernetes")))
    .env("box")
    .hint("kubernetes.io/tls")
}

fn compose_tls_without_host_directory() -> Case {
    Case::new(
        "compose_tls_without_host_directory",
        "RCTL074",
        "TLS on target `compose` needs `container.tlsDir`",
        "environments/box.yaml:5:14",
    )
    .file("environments/box.yaml", format!("{BOX}{TLS}"))
    .env("box")
}

fn container_tls_relative_path() -> Case {
    Case::new(
        "container_tls_relative_path",
        "RCTL073",
        "`security.tls.certFile` (tls.crt) must be an absolute path inside the container on target `compose`",
        "environments/box.yaml:6:15",
    )
    .file(
        "environments/box.yaml",
        format!("{BOX}{}container: {{ tlsDir: /srv/tls }}\n", TLS.replace("/tls/tls.crt", "tls.crt")),
    )
    .env("box")
}

fn container_tls_two_directories() -> Case {
    Case::new(
        "container_tls_two_directories",
        "RCTL073",
        "must be in the same directory (they are in /tls, /keys and /tls)",
        "environments/box.yaml:7:14",
    )
    .file(
        "environments/box.yaml",
        format!("{BOX}{}container: {{ tlsDir: /srv/tls }}\n", TLS.replace("/tls/tls.key", "/keys/tls.key")),
    )
    .env("box")
}

fn container_tls_in_a_redisctl_mount() -> Case {
    Case::new(
        "container_tls_in_a_redisctl_mount",
        "RCTL073",
        "the TLS directory /data overlaps /data",
        "environments/box.yaml:6:15",
    )
    .file(
        "environments/box.yaml",
        format!("{BOX}{}container: {{ tlsDir: /srv/tls }}\n", TLS.replace("/tls/", "/data/")),
    )
    .env("box")
}

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        /// One test per case, so each fails on its own.
        mod case {
            $( #[test] fn $name() { super::check(&super::$name()); } )*
        }
        fn all_cases() -> Vec<Case> {
            vec![$($name()),*]
        }
    };
}

cases!(
    state_s3_without_bucket,
    sentinel_password_sentinel_cannot_write_back,
    container_image_floating,
    container_image_untagged,
    container_image_other_version,
    container_image_bad_digest,
    yaml_syntax_error,
    yaml_unclosed_flow_sequence,
    duplicate_key,
    duplicate_key_nested,
    tab_indentation,
    alias_bomb,
    yaml_tag,
    two_documents,
    top_level_list,
    empty_file,
    comments_only_base,
    non_utf8_file,
    fifty_megabyte_file,
    deep_nesting,
    string_where_number,
    map_where_list,
    inline_plaintext_password,
    two_password_sources,
    missing_required_key,
    unknown_top_level_key,
    unknown_nested_key,
    enum_typo,
    enum_typo_in_overlay,
    api_version_wrong,
    unsupported_redis_version,
    duration_without_unit,
    negative_size,
    overflowing_size,
    overflowing_size_times_unit,
    overflowing_integer,
    fractional_size,
    directive_typo,
    directive_typo_policy,
    unknown_directive,
    version_gated_directive,
    version_gated_directive_7_2,
    reserved_directive_port,
    reserved_directive_maxmemory,
    sensitive_directive,
    directive_wrong_value_type,
    directive_given_twice,
    newline_in_directive_value,
    newline_in_user_name,
    nul_in_directive_key,
    missing_env_var,
    missing_secret_file,
    empty_secret,
    missing_previous_password,
    previous_password_on_containers,
    nul_byte,
    merge_key,
    sentinel_with_two_sentinels,
    quorum_not_a_majority,
    cluster_with_two_shards,
    huge_topology,
    port_collision,
    port_out_of_range,
    replicas_without_replication_user,
    tls_without_certs,
    memory_limit_below_maxmemory,
    unknown_environment,
    elasticache_sets_maxmemory,
    elasticache_restricted_directive,
    elasticache_aof,
    elasticache_node_type_typo,
    elasticache_redis_7_4,
    acl_unknown_category,
    acl_category_typo,
    acl_unknown_command,
    acl_command_typo,
    acl_unknown_subcommand,
    acl_removing_part_of_a_command_on_6_2,
    acl_non_ascii_key_pattern,
    acl_non_ascii_channel_pattern,
    snapshot_with_inf,
    snapshot_not_a_number,
    operator_denies_config,
    operator_denies_acl,
    systemd_operator_denies_config,
    local_stack_without_users,
    local_stack_without_operator,
    container_without_operator,
    kubernetes_tls_without_secret,
    compose_tls_without_host_directory,
    container_tls_relative_path,
    container_tls_two_directories,
    container_tls_in_a_redisctl_mount,
);

/// The contracts that used to start servers and then fail are refused by `apply` before anything
/// is written or started: no file, no process on the contract's port, no waiting for readiness.
#[test]
fn apply_refuses_them_before_starting_anything() {
    for case in [local_stack_without_users(), operator_denies_config(), acl_unknown_category(), snapshot_with_inf()] {
        let p = case.project();
        let before = read_tree(p.path());
        let started = std::time::Instant::now();
        let run = case.cmd(&p, &["apply", "--env", "dev", "--auto-approve"]);
        run.assert_code(1);
        assert!(run.stderr.contains(case.code), "{}: {}", case.name, run.show());
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{}: apply took {:?}",
            case.name,
            started.elapsed()
        );
        assert!(std::net::TcpStream::connect("127.0.0.1:17100").is_err(), "{}: something listens on 17100", case.name);
        let after = read_tree(p.path());
        assert!(before == after, "{}: the project changed: {:?}", case.name, changed(&before, &after));
    }
}

#[test]
fn the_valid_project_is_valid() {
    // Every case is this project with one thing broken: it must be valid as it is.
    let case = Case::new("valid", "", "", "");
    let p = case.project();
    let run = case.cmd(&p, &["validate", "--all"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "dev [local]: valid (0 warning(s))\n", "{}", run.show());
    assert_eq!(run.stderr, "");
}

#[test]
fn at_least_thirty_cases() {
    let cases = all_cases();
    assert!(cases.len() >= 30, "{} cases", cases.len());
    let mut names: Vec<&str> = cases.iter().map(|c| c.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "case names are unique");
}

/// `--format json` for one case, field by field.
#[test]
fn json_diagnostic_fields() {
    let case = directive_typo();
    let p = case.project();
    let run = case.cmd(&p, &["validate", "--all", "--format", "json"]);
    run.assert_code(1);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["format_version"], "1");
    assert_eq!(json["valid"], false);
    let env = &json["environments"][0];
    assert_eq!(env["environment"], "dev");
    assert_eq!(env["valid"], false);
    assert_eq!(env["errors"], 1);
    let d = &env["diagnostics"][0];
    assert_eq!(d["severity"], "error");
    assert_eq!(d["code"], "RCTL030");
    assert_eq!(d["message"], "unknown redis.conf directive `tcp-keepaliv`");
    assert_eq!(d["file"], "redisctl.yaml");
    assert_eq!(d["line"], 11);
    assert_eq!(d["column"], 5);
    assert_eq!(d["hint"], "did you mean `tcp-keepalive`?");
    assert_eq!(run.stderr, "", "JSON mode prints diagnostics only as JSON");
}

/// Several problems at once: every one is reported, each at its own place.
#[test]
fn every_problem_is_reported_at_once() {
    let found = |case: Case| -> Vec<String> {
        let p = case.project();
        let run = case.cmd(&p, &["validate", "--env", "dev", "--format", "json"]);
        run.assert_code(1);
        let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        json["environments"][0]["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                format!("{} {}:{}:{}", d["code"].as_str().unwrap(), d["file"].as_str().unwrap(), d["line"], d["column"])
            })
            .collect()
    };
    // Structural problems (schema stage), in both files.
    let schema = found(
        Case::new("many-schema", "", "", "")
            .base("  clusterSafe: true\n", "  clusterSafe: \"yes\"\n")
            .dev("resources:\n  maxmemroy: 32mb\nclient: {commandTimeout: 5}\n"),
    );
    assert_eq!(
        schema,
        ["RCTL010 redisctl.yaml:14:16", "RCTL011 environments/dev.yaml:6:3", "RCTL010 environments/dev.yaml:7:26"],
        "{schema:?}"
    );
    // Semantic problems, in both files.
    let semantic = found(
        Case::new("many-semantic", "", "", "")
            .base("tcp-keepalive: 60", "tcp-keepaliv: 60")
            .dev("topology: {mode: cluster, shards: 2}\nsecurity: {tls: {enabled: true, certFile: a, keyFile: b}}\n"),
    );
    assert_eq!(
        semantic,
        ["RCTL030 redisctl.yaml:11:5", "RCTL040 environments/dev.yaml:5:35", "RCTL070 environments/dev.yaml:6:27"],
        "{semantic:?}"
    );
}

/// No bad input makes the binary panic: every command exits 1 with a diagnostic. Also for
/// every prefix of a valid contract (a file cut anywhere): exit 0 or 1, never a crash.
#[test]
fn no_input_panics() {
    for case in all_cases() {
        let p = case.project();
        let out = tempfile::tempdir().unwrap();
        let out = out.path().join("out");
        for args in [
            vec!["validate", "--env", case.env],
            vec!["validate", "--env", case.env, "--format", "json"],
            vec!["render", "--env", case.env, "--out", out.to_str().unwrap()],
            vec!["plan", "--env", case.env],
        ] {
            let run = case.cmd(&p, &args);
            let code = if case.needs_value && args[0] == "validate" { 0 } else { 1 };
            assert_eq!(run.code, Some(code), "{}: {args:?}\n{}", case.name, run.show());
            assert!(!run.stderr.contains("panicked"), "{}: {args:?}\n{}", case.name, run.show());
            assert!(!run.stderr.is_empty() || !run.stdout.is_empty(), "{}: {args:?} said nothing", case.name);
        }
    }

    let p = Case::new("prefixes", "", "", "").project();
    let mut cut = 0;
    while cut < BASE.len() {
        p.write(BASE_FILE, &BASE.as_bytes()[..cut]);
        let run = Run::of(p.cmd().args(["validate", "--env", "dev"]));
        assert!(matches!(run.code, Some(0 | 1)), "prefix of {cut} bytes\n{}", run.show());
        assert!(!run.stderr.contains("panicked"), "prefix of {cut} bytes\n{}", run.show());
        cut += 3;
    }
}
