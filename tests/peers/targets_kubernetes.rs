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
