//! What people read: plans say what a process change does in a sentence (the JSON plan keeps
//! the data), `diff` names both sides in its headers, and `render --out -` streams the files
//! to standard output in the target's format instead of creating a directory named `-`.

use crate::common::*;

/// The sample's local plan: processes are started, said in words; JSON is unchanged.
#[test]
fn process_changes_read_as_sentences() {
    let p = TempProject::copy_of(&repo_root());
    let text = Run::of(p.cmd().args(["plan", "--env", "local"]));
    text.assert_code(0);
    assert!(
        text.stdout.contains("  + process:node-0\n      starts redis-server on 127.0.0.1:16379\n"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("      starts redis-sentinel on 127.0.0.1:26379\n"), "{}", text.stdout);
    assert!(!text.stdout.contains("{\"") && !text.stdout.contains("(none)"), "{}", text.stdout);

    let md = Run::of(p.cmd().args(["plan", "--env", "local", "--format", "markdown"]));
    md.assert_code(0);
    assert!(md.stdout.contains("starts redis-server on 127.0.0.1:16379"), "{}", md.stdout);
    assert!(!md.stdout.contains("{\"") && !md.stdout.contains("(none)"), "{}", md.stdout);

    let json = Run::of(p.cmd().args(["plan", "--env", "local", "--format", "json"]));
    json.assert_code(0);
    let plan: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let node = plan["resource_changes"].as_array().unwrap().iter().find(|c| c["address"] == "process:node-0").unwrap();
    assert_eq!(node["change"]["after"], serde_json::json!({ "binary": "redis", "address": "127.0.0.1:16379" }));
    let changes = plan["resource_changes"].as_array().unwrap();
    assert!(changes.iter().all(|c| c.get("summary").is_none()), "the JSON plan keeps its shape");
}

/// `diff` headers are `--- a/<env>/<path>` / `+++ b/<other>/<path>`, as git names two trees.
#[test]
fn diff_headers_name_each_environment() {
    let p = TempProject::copy_of(&repo_root());
    p.write(
        "environments/staging2.yaml",
        p.read("environments/staging.yaml").replace("maxmemory: 1gb", "maxmemory: 1200mb"),
    );
    let run = Run::of(p.cmd().args(["diff", "--env", "staging", "--env", "staging2"]));
    run.assert_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    let headers: Vec<(&str, &str)> =
        lines.windows(2).filter(|w| w[0].starts_with("--- ")).map(|w| (w[0], w[1])).collect();
    assert!(headers.len() >= 2, "{}", run.stdout);
    for (old, new) in &headers {
        let path = old.strip_prefix("--- a/staging/").unwrap_or_else(|| panic!("{old}\n{}", run.stdout));
        assert_eq!(*new, format!("+++ b/staging2/{path}"), "{}", run.stdout);
    }
    assert!(headers.contains(&("--- a/staging/README.md", "+++ b/staging2/README.md")), "{headers:?}");
}

/// The `# --- file: <path>` sections of a stream, as (path, content).
fn sections(stream: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in stream.split_inclusive('\n') {
        match line.strip_prefix("# --- file: ") {
            Some(path) => out.push((path.trim_end().to_string(), String::new())),
            None => out.last_mut().expect("the stream starts with a `# --- file: ` line").1.push_str(line),
        }
    }
    out
}

#[test]
fn render_to_stdout_streams_kubernetes_manifests_as_one_yaml_stream() {
    let p = TempProject::copy_of(&repo_root());
    let dir = tempfile::tempdir().unwrap();
    render(p.path(), "staging", &dir.path().join("files"), &[]);
    let files: Vec<(String, String)> = files(&dir.path().join("files"))
        .into_iter()
        .map(|(rel, path)| (rel, std::fs::read_to_string(path).unwrap()))
        .collect();

    let run = Run::of(p.cmd().args(["render", "--env", "staging", "--out", "-"]));
    run.assert_code(0);
    assert!(!p.path().join("-").exists(), "a directory named `-` was created");
    assert!(run.stderr.contains("README.md"), "what is left out is named: {}", run.show());
    // One document per manifest, in render order, each the file itself after `# Source:`.
    let docs: Vec<&str> = run.stdout.strip_prefix("---\n").expect("starts a document").split("\n---\n").collect();
    let manifests: Vec<&(String, String)> = files.iter().filter(|(rel, _)| rel.ends_with(".yaml")).collect();
    assert_eq!(docs.len(), manifests.len(), "{}", run.stdout);
    for doc in &docs {
        let (source, body) = doc.split_once('\n').unwrap();
        let path = source.strip_prefix("# Source: ").unwrap_or_else(|| panic!("{doc}"));
        let (_, content) = manifests.iter().find(|(rel, _)| rel == path).unwrap_or_else(|| panic!("{path}"));
        assert_eq!(format!("{body}\n").trim_end(), content.trim_end(), "{path}");
        let node = redisctl::contract::yaml::parse(body, 0).unwrap_or_else(|e| panic!("{path}: {e:?}"));
        let value = redisctl::contract::merge::to_json(&node, &mut Default::default());
        assert!(value["apiVersion"].is_string() && value["kind"].is_string(), "{path}: {value}");
    }
}

#[test]
fn render_to_stdout_streams_other_targets_file_by_file_with_hashes_hidden() {
    let p = TempProject::copy_of(&repo_root());
    let dir = tempfile::tempdir().unwrap();
    render(p.path(), "local", &dir.path().join("files"), &[]);
    let run = Run::of(p.cmd().args(["render", "--env", "local", "--out", "-"]));
    run.assert_code(0);
    assert!(!p.path().join("-").exists() && !p.path().join(".redisctl").exists(), "render --out - wrote files");
    let streamed = sections(&run.stdout);
    let rendered = files(&dir.path().join("files"));
    let mut paths: Vec<&str> = streamed.iter().map(|(p, _)| p.as_str()).collect();
    paths.sort();
    assert_eq!(paths, rendered.iter().map(|(rel, _)| rel.as_str()).collect::<Vec<_>>());
    for (path, content) in &streamed {
        let file = std::fs::read_to_string(dir.path().join("files").join(path)).unwrap();
        if path.ends_with(".acl") {
            // Hashes are hidden as in plans: standard output is a log, not a 0600 file.
            assert!(content.contains("#(sensitive value)") && file.contains(" #"), "{path}:\n{content}");
            assert_eq!(content.lines().count(), file.lines().count(), "{path}");
            assert!(!content.split_whitespace().any(|w| w.len() == 65 && w.starts_with('#')), "{path}:\n{content}");
        } else {
            assert_eq!(content, &file, "{path}");
        }
    }
    assert!(run.stderr.contains("password hash(es) shown as `#(sensitive value)`"), "{}", run.show());
    for secret in read_tree(&p.path().join("secrets")).into_values() {
        let secret = String::from_utf8(secret).unwrap();
        assert!(!run.text().contains(secret.trim()), "a password in the stream");
    }

    // An invalid contract streams nothing.
    p.write("environments/local.yaml", p.read("environments/local.yaml") + "bogus: 1\n");
    let run = Run::of(p.cmd().args(["render", "--env", "local", "--out", "-"]));
    run.assert_code(1);
    assert_eq!(run.stdout, "");
}
