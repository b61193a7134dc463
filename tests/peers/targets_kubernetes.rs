//! `target: kubernetes` against a real peer: `kubernetes-validate --strict -k 1.29.0` accepts
//! every manifest of every topology, with any WARN treated as a failure. What the manifests
//! hold, read as text, is checked in tests/fast/targets_kubernetes.rs.

use std::process::Command;

use crate::common::targets::*;

#[test]
fn kubernetes_validate_accepts_every_manifest_strictly() {
    let validate = tool("kubernetes-validate");
    for topology in container_topologies() {
        let out = render(&format!("kubernetes-{topology}"));
        let manifests: Vec<_> =
            files(out.path()).into_iter().filter(|(rel, _)| rel.ends_with(".yaml")).map(|(_, p)| p).collect();
        assert!(manifests.len() >= 6, "kubernetes-{topology}: {} manifests", manifests.len());
        let o = Command::new(&validate).args(["--strict", "-k", "1.29.0"]).args(&manifests).output().unwrap();
        let text = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
        let bad: Vec<&str> = text.lines().filter(|l| !l.starts_with("INFO ") || l.contains("WARN")).collect();
        assert!(o.status.success() && bad.is_empty(), "kubernetes-{topology}:\n{text}");
        assert_eq!(
            text.lines().filter(|l| l.contains(" passed ")).count(),
            manifests.len(),
            "kubernetes-{topology}:\n{text}"
        );
    }
}

/// `render --out -` is one multi-document stream that the validator reads as the separate
/// manifests: every one passes, strictly, and none is lost or merged.
#[test]
fn the_rendered_stream_is_the_manifests_kubernetes_validate_accepts() {
    let validate = tool("kubernetes-validate");
    for topology in container_topologies() {
        let env = format!("kubernetes-{topology}");
        let manifests = files(render(&env).path()).into_iter().filter(|(rel, _)| rel.ends_with(".yaml")).count();
        let mut cmd = crate::common::redisctl_on(&root().join(PROJECT));
        cmd.args(["render", "--env", &env, "--out", "-"]);
        for (k, v) in PASSWORDS {
            cmd.env(k, v);
        }
        let run = crate::common::Run::unbounded(&mut cmd);
        run.assert_code(0);
        let dir = tempfile::tempdir().unwrap();
        let stream = dir.path().join("stream.yaml");
        std::fs::write(&stream, &run.stdout).unwrap();
        let o = Command::new(&validate).args(["--strict", "-k", "1.29.0"]).arg(&stream).output().unwrap();
        let text = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
        let bad: Vec<&str> = text.lines().filter(|l| !l.starts_with("INFO ") || l.contains("WARN")).collect();
        assert!(o.status.success() && bad.is_empty(), "{env}:\n{text}");
        assert_eq!(text.lines().filter(|l| l.contains(" passed ")).count(), manifests, "{env}:\n{text}");
    }
}
