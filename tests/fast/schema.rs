//! One source of truth for the contract schema: the committed `schemas/redisctl.schema.json`
//! is exactly what `redisctl schema` prints (derived from the Rust types), and every example
//! and every environment of the sample validates against the committed file — checked here
//! with the `jsonschema` crate directly, independently of redisctl's own loader.

use std::path::Path;

use crate::common::*;
use serde_json::Value;

fn committed_schema() -> Value {
    let text = std::fs::read_to_string(repo_root().join("schemas/redisctl.schema.json")).unwrap();
    serde_json::from_str(&text).expect("the committed schema is JSON")
}

#[test]
fn committed_schema_is_what_the_binary_prints() {
    let committed = std::fs::read_to_string(repo_root().join("schemas/redisctl.schema.json")).unwrap();
    let run = Run::of(redisctl().arg("schema"));
    run.assert_code(0);
    assert!(
        run.stdout == committed,
        "schemas/redisctl.schema.json is out of date: regenerate it with\n  cargo run -- schema > schemas/redisctl.schema.json"
    );
}

#[test]
fn committed_schema_is_a_draft_2020_12_schema_with_docs() {
    let schema = committed_schema();
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    jsonschema::draft202012::new(&schema).expect("a valid JSON Schema");
    // What editors show: descriptions on the top-level properties, enums with their values.
    let props = schema["properties"].as_object().unwrap();
    for key in ["apiVersion", "service", "redis", "topology", "acl"] {
        assert!(props.contains_key(key), "missing property {key}");
    }
    assert!(props["service"]["description"].is_string());
    let text = schema.to_string();
    for value in ["cache", "session", "queue", "state", "coordination", "aof+rdb", "sentinel", "cluster", "elasticache"]
    {
        assert!(text.contains(&format!("\"{value}\"")), "the schema does not list `{value}`");
    }
}

/// One contract file as JSON (the YAML parser is redisctl's, since the contract's YAML rules —
/// no duplicate keys, core-schema scalars — are its own; the merge below is done here).
fn yaml_file(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    let node = redisctl::contract::yaml::parse(&text, 0).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
    redisctl::contract::merge::to_json(&node, &mut Default::default())
}

/// The documented overlay rules: maps merge key by key, lists and scalars replace, `null` removes.
fn merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                if v.is_null() {
                    b.remove(&k);
                } else if let Some(existing) = b.get_mut(&k) {
                    merge(existing, v);
                } else {
                    b.insert(k, v);
                }
            }
        }
        (b, o) => *b = o,
    }
}

fn merged(project: &Path, env: &str) -> Value {
    let mut doc = yaml_file(&project.join("redisctl.yaml"));
    merge(&mut doc, yaml_file(&project.join("environments").join(format!("{env}.yaml"))));
    doc
}

fn projects() -> Vec<std::path::PathBuf> {
    let mut all = vec![repo_root()];
    all.extend(EXAMPLES.iter().map(|e| example_dir(e)));
    all
}

#[test]
fn every_example_and_sample_environment_validates_against_the_committed_schema() {
    let validator = jsonschema::draft202012::new(&committed_schema()).unwrap();
    let mut checked = 0;
    for project in projects() {
        for env in environments(&project) {
            let doc = merged(&project, &env);
            let errors: Vec<String> =
                validator.iter_errors(&doc).map(|e| format!("{}: {e}", e.instance_path())).collect();
            assert!(errors.is_empty(), "{} / {env}: {errors:#?}", project.display());
            checked += 1;
        }
    }
    assert_eq!(checked, 3 + EXAMPLES.len());
}

/// The check above can fail: the committed schema rejects what the contract forbids.
#[test]
fn the_committed_schema_rejects_broken_documents() {
    let validator = jsonschema::draft202012::new(&committed_schema()).unwrap();
    let good = merged(&example_dir("sentinel-state"), "local");
    assert!(validator.is_valid(&good));
    type Breakage = (&'static str, fn(&mut Value));
    let broken: [Breakage; 6] = [
        ("unknown top-level key", |d| d["servce"] = "x".into()),
        ("unknown nested key", |d| d["redis"]["maxmemoryPolcy"] = "noeviction".into()),
        ("enum typo", |d| d["redis"]["workload"] = "cach".into()),
        ("inline password", |d| d["acl"]["users"][0]["password"] = "hunter2".into()),
        ("negative size", |d| d["resources"]["maxmemory"] = "-1mb".into()),
        ("missing apiVersion", |d| {
            d.as_object_mut().unwrap().remove("apiVersion");
        }),
    ];
    for (what, breakit) in broken {
        let mut doc = good.clone();
        breakit(&mut doc);
        assert!(!validator.is_valid(&doc), "the schema accepts a document with: {what}");
    }
}

/// The merge done here agrees with redisctl's: the binary accepts every environment, and the
/// examples have no warnings either.
#[test]
fn every_example_validates_without_warnings() {
    for example in EXAMPLES {
        let run = Run::of(redisctl().arg("--project").arg(example_dir(example)).arg("validate"));
        run.assert_code(0);
        assert_eq!(run.stdout, "local [local]: valid (0 warning(s))\n", "{example}\n{}", run.show());
        assert_eq!(run.stderr, "", "{example}");
    }
    let mut cmd = redisctl();
    cmd.current_dir(repo_root()).args(["validate", "--all"]);
    for (k, v) in SAMPLE_ENV_PASSWORDS {
        cmd.env(k, v);
    }
    let run = Run::of(&mut cmd);
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        "local [local]: valid (0 warning(s))\nproduction [production]: valid (0 warning(s))\nstaging [shared]: valid (0 warning(s))\n",
        "{}",
        run.show()
    );
}

/// Editors: environments/*.yaml name the overlay schema, which the binary prints
/// (`schema --overlay`), which every overlay satisfies on its own, and which still refuses
/// typos and wrong types — while the full schema refuses a bare overlay (it requires
/// `apiVersion`, `service`, `redis`), which is why overlays need their own.
#[test]
fn overlays_have_their_own_schema_that_requires_nothing_but_still_checks() {
    let path = repo_root().join("schemas/redisctl.overlay.schema.json");
    let committed = std::fs::read_to_string(&path).unwrap();
    let run = Run::of(redisctl().args(["schema", "--overlay"]));
    run.assert_code(0);
    assert!(
        run.stdout == committed,
        "schemas/redisctl.overlay.schema.json is out of date: regenerate it with\n  \
         cargo run -- schema --overlay > schemas/redisctl.overlay.schema.json"
    );
    let overlay = jsonschema::draft202012::new(&serde_json::from_str::<Value>(&committed).unwrap()).unwrap();
    let full = jsonschema::draft202012::new(&committed_schema()).unwrap();
    let mut checked = 0;
    for project in projects() {
        for env in environments(&project) {
            let file = project.join("environments").join(format!("{env}.yaml"));
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(
                text.lines().next().unwrap_or_default().ends_with("schemas/redisctl.overlay.schema.json"),
                "{} does not name the overlay schema in its modeline",
                file.display()
            );
            let doc = yaml_file(&file);
            let errors: Vec<String> =
                overlay.iter_errors(&doc).map(|e| format!("{}: {e}", e.instance_path())).collect();
            assert!(errors.is_empty(), "{}: {errors:#?}", file.display());
            assert!(!full.is_valid(&doc), "{}: the full schema accepts a bare overlay", file.display());
            checked += 1;
        }
    }
    assert_eq!(checked, 3 + EXAMPLES.len());
    for (bad, why) in [
        (serde_json::json!({ "topolgy": { "mode": "cluster" } }), "a typo"),
        (serde_json::json!({ "ports": { "redis": "six" } }), "a wrong type"),
        (serde_json::json!({ "topology": { "mode": "ring" } }), "an unknown enum value"),
    ] {
        assert!(!overlay.is_valid(&bad), "the overlay schema accepts {why}: {bad}");
    }
    // `null` removes a key from the base: allowed for any key of an overlay.
    assert!(overlay.is_valid(&serde_json::json!({ "resources": { "maxmemory": null }, "kubernetes": null })));
}

/// Editors: hovers read `markdownDescription`; a `"default": null` (or nulls inside a default)
/// makes yaml-language-server's completion drop keys. Neither schema has one.
#[test]
fn both_schemas_carry_hover_text_and_no_null_defaults() {
    for file in ["schemas/redisctl.schema.json", "schemas/redisctl.overlay.schema.json"] {
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(repo_root().join(file)).unwrap()).unwrap();
        let (mut described, mut nulls) = (0, Vec::new());
        fn walk(v: &Value, at: String, described: &mut usize, nulls: &mut Vec<String>) {
            match v {
                Value::Object(map) => {
                    if let Some(d) = map.get("default") {
                        if d.is_null() || d.to_string().contains(":null") {
                            nulls.push(at.clone());
                        }
                    }
                    if map.get("description").is_some_and(Value::is_string) {
                        assert_eq!(map.get("markdownDescription"), map.get("description"), "{at}");
                        *described += 1;
                    }
                    for (k, child) in map {
                        walk(child, format!("{at}/{k}"), described, nulls);
                    }
                }
                Value::Array(items) => {
                    for (i, child) in items.iter().enumerate() {
                        walk(child, format!("{at}/{i}"), described, nulls);
                    }
                }
                _ => {}
            }
        }
        walk(&schema, String::new(), &mut described, &mut nulls);
        assert!(nulls.is_empty(), "{file}: null defaults at {nulls:?}");
        assert!(described > 100, "{file}: only {described} descriptions");
    }
}

/// A valid document's fingerprint is kept (owner-only, nothing of the document in it) and the
/// next run skips compiling the validator; a document with a problem is checked — and its
/// problem reported — on every run.
#[test]
fn the_schema_cache_skips_only_documents_found_valid_before() {
    let project = TempProject::copy_of(&repo_root().join("examples/standalone-cache"));
    let cache = tempfile::tempdir().unwrap();
    let validate = || {
        let mut cmd = project.cmd();
        cmd.args(["-vv", "validate", "--env", "local"])
            .env("XDG_CACHE_HOME", cache.path())
            .env_remove("REDISCTL_NO_CACHE");
        Run::of(&mut cmd)
    };
    const SKIPPED: &str = "schema check skipped";
    let first = validate();
    first.assert_code(0);
    assert!(!first.stderr.contains(SKIPPED), "{}", first.show());
    let files: Vec<_> = std::fs::read_dir(cache.path().join("redisctl")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let kept = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        kept.lines().count() == 1 && kept.trim().len() == 64 && kept.trim().chars().all(|c| c.is_ascii_hexdigit()),
        "{kept}"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777, 0o600);

    let second = validate();
    second.assert_code(0);
    assert!(second.stderr.contains(SKIPPED), "{}", second.show());

    // A typo: reported although the cache holds the document it was before.
    let overlay = std::fs::read_to_string(project.path().join("environments/local.yaml")).unwrap();
    project.write("environments/local.yaml", format!("{overlay}topolgy: {{ mode: standalone }}\n"));
    for _ in 0..2 {
        let bad = validate();
        bad.assert_code(1);
        assert!(bad.text().contains("RCTL011") && bad.text().contains("did you mean `topology`?"), "{}", bad.show());
        assert!(!bad.stderr.contains(SKIPPED), "{}", bad.show());
    }
    assert_eq!(std::fs::read_to_string(&files[0]).unwrap(), kept, "a document with a problem is not kept");
    project.write("environments/local.yaml", overlay);
    assert!(validate().stderr.contains(SKIPPED));
}
