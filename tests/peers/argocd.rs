//! GitOps through Argo CD: the Config Management Plugin of examples/argocd runs its init and
//! generate steps exactly as written there, the way Argo CD's cmp-server runs them: in the
//! application's source directory, with only the variables Argo CD passes (the `ARGOCD_APP_*`
//! build environment and the Application's plugin env prefixed `ARGOCD_ENV_`) and no secrets.
//! The output is one multi-document stream that `kubernetes-validate --strict` accepts, holding
//! exactly the manifests `render --out DIR` writes; the checkout is left as it was.

use std::path::Path;
use std::process::Command;

use crate::common::targets::{tool, yaml_file};
use crate::common::{example_dir, read_tree, repo_root, TempProject};

/// `(command, args)` of a step of the plugin definition.
fn step(plugin: &serde_json::Value, name: &str) -> Vec<String> {
    let s = &plugin["spec"][name];
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array().unwrap_or(&Vec::new()).iter().map(|x| x.as_str().unwrap().to_string()).collect()
    };
    let mut argv = strings(&s["command"]);
    argv.extend(strings(&s["args"]));
    assert!(!argv.is_empty(), "the plugin has a {name} step");
    argv
}

/// Run a step as the cmp-server does: in `dir`, with Argo CD's variables only.
fn run_step(argv: &[String], dir: &Path, env: &str) -> std::process::Output {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_redisctl")).parent().unwrap().to_path_buf();
    Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir(dir)
        .env_clear()
        .env("PATH", format!("{}:/usr/local/bin:/usr/bin:/bin", bin_dir.display()))
        .env("HOME", dir)
        .env("ARGOCD_APP_NAME", "orders-redis")
        .env("ARGOCD_APP_NAMESPACE", "orders")
        .env("ARGOCD_APP_REVISION", "0123456789abcdef0123456789abcdef01234567")
        .env("ARGOCD_APP_SOURCE_PATH", "redis")
        .env("ARGOCD_APP_SOURCE_REPO_URL", "https://git.example.com/team/orders.git")
        .env("ARGOCD_APP_SOURCE_TARGET_REVISION", "main")
        .env("KUBE_VERSION", "1.29.0")
        .env("ARGOCD_ENV_REDISCTL_ENV", env)
        .output()
        .expect("run the plugin step")
}

#[test]
fn the_argocd_plugin_generates_the_kubernetes_manifests_that_validate_strictly() {
    let plugin = yaml_file(&repo_root().join("examples/argocd/plugin.yaml"));
    assert_eq!(plugin["kind"], "ConfigManagementPlugin");
    // Argo CD picks the plugin for a directory with a contract.
    let discover = plugin["spec"]["discover"]["fileName"].as_str().unwrap();
    let project = TempProject::copy_of(&example_dir("kubernetes-cluster"));
    assert!(project.path().join(discover).exists());
    let before = read_tree(project.path());

    let init = run_step(&step(&plugin, "init"), project.path(), "production");
    assert!(init.status.success(), "init: {}", String::from_utf8_lossy(&init.stderr));
    let out = run_step(&step(&plugin, "generate"), project.path(), "production");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "generate: {stderr}");
    assert_eq!(read_tree(project.path()), before, "the plugin writes nothing into the checkout");

    // One stream; each of its manifests is a file `render --out DIR` writes, none lost.
    let stream = String::from_utf8(out.stdout).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rendered = dir.path().join("rendered");
    let mut render = crate::common::redisctl_on(project.path());
    render.args(["render", "--env", "production", "--out", rendered.to_str().unwrap()]);
    crate::common::Run::unbounded(&mut render).assert_code(0);
    let files: Vec<String> =
        read_tree(&rendered).into_keys().filter(|rel| rel.ends_with(".yaml") && !rel.starts_with('.')).collect();
    for rel in &files {
        assert!(stream.contains(&format!("# Source: {rel}\n")), "{rel} is in the stream:\n{stream}");
    }
    let path = dir.path().join("stream.yaml");
    std::fs::write(&path, &stream).unwrap();
    let o = Command::new(tool("kubernetes-validate")).args(["--strict", "-k", "1.29.0"]).arg(&path).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{text}");
    // The Prometheus operator's kinds are not Kubernetes' own: the validator has no schema for
    // them (tests/peers/observability.rs checks them); every other manifest passes strictly.
    let operator_kinds = stream.matches("apiVersion: monitoring.coreos.com/v1\n").count();
    let unknown: Vec<&str> = text.lines().filter(|l| l.starts_with("WARN")).collect();
    assert_eq!(unknown.len(), operator_kinds, "{text}");
    assert!(unknown.iter().all(|l| l.contains("with api version monitoring.coreos.com/v1")), "{text}");
    assert_eq!(text.lines().filter(|l| l.contains(" passed ")).count(), files.len() - operator_kinds, "{text}");

    // An environment that is not there fails the sync with redisctl's error, on stderr.
    let bad = run_step(&step(&plugin, "generate"), project.path(), "nope");
    assert!(!bad.status.success() && bad.stdout.is_empty());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("nope"), "{}", String::from_utf8_lossy(&bad.stderr));
}
