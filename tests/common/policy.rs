//! The project of the policy, parity and review tests: [`BASE`] and environment overlays in a
//! [`TempProject`], run with a fixed day, and the policy findings `validate` reports.
//!
//! `BASE` is a contract that breaks no readiness rule in any class of environment (local
//! process, shared kubernetes/compose, production-like), so that a test adds exactly one
//! violation in an environment overlay and sees exactly one finding, located in the overlay.

use std::path::Path;

use serde_json::Value;

use super::{Command, Run, TempProject};

/// "Today" for every command: waiver expiry and evidence age do not depend on the clock.
pub const TODAY: &str = "2026-11-23";

pub const BASE: &str = r#"apiVersion: redisctl/v1
service: shop
redis:
  version: "7.2"
  workload: cache
  maxmemoryPolicy: allkeys-lru
  config:
    timeout: 300
    tcp-keepalive: 60
keyspace:
  prefix: shop
  clusterSafe: true
security:
  tls:
    enabled: true
    certFile: /tls/redis.crt
    keyFile: /tls/redis.key
    caFile: /tls/ca.crt
acl:
  users:
    - name: shop-app
      password: { fromFile: secrets/app.password }
      keys: ["shop:*"]
      commands: ["+@read", "+@write", "-@dangerous", "+cluster|slots"]
    - name: replicator
      role: replication
      password: { fromFile: secrets/replicator.password }
    - name: sentinel
      role: sentinel
      password: { fromFile: secrets/sentinel.password }
    - name: ops
      role: operator
      password: { fromFile: secrets/ops.password }
    - name: metrics
      role: exporter
      password: { fromFile: secrets/metrics.password }
resources:
  maxmemory: 128mb
  memoryLimit: 256Mi
observability: {}
operations:
  backup: { schedule: daily 02:00 UTC, destination: "s3://shop-redis-backups", retentionDays: 14 }
  restoreDrill: { lastPerformed: 2026-09-01 }
# Where the container targets mount the TLS files from.
kubernetes: { tlsSecretName: shop-redis-tls }
container: { tlsDir: /srv/shop/tls }
"#;

pub struct Project {
    pub project: TempProject,
}

impl Project {
    /// A project with `BASE` and the given environment overlays.
    pub fn new(envs: &[(&str, &str)]) -> Project {
        Project::with_base(BASE, envs)
    }

    pub fn with_base(base: &str, envs: &[(&str, &str)]) -> Project {
        let p = Project { project: TempProject::new(&[]) };
        p.write("redisctl.yaml", base);
        for (name, text) in envs {
            p.write(&format!("environments/{name}.yaml"), text);
        }
        for secret in ["app", "replicator", "sentinel", "ops", "metrics"] {
            p.write(&format!("secrets/{secret}.password"), &format!("{secret}-password-for-tests\n"));
        }
        p
    }

    pub fn write(&self, rel: &str, text: &str) {
        self.project.write(rel, text);
    }

    pub fn path(&self) -> &Path {
        self.project.path()
    }

    /// `redisctl ARGS...` run in the project directory (so paths show as users see them),
    /// with a fixed date and no colour.
    pub fn redisctl(&self, args: &[&str]) -> Command {
        let mut cmd = self.project.cmd();
        cmd.args(args).env("REDISCTL_TODAY", TODAY);
        cmd
    }

    /// The policy findings (`RCTL1xx`) `validate --format json` reports for one environment.
    pub fn findings(&self, env: &str) -> Vec<Finding> {
        let out = Run::unbounded(&mut self.redisctl(&["validate", "--env", env, "--format", "json"]));
        let json: Value =
            serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("validate JSON: {e}\n{}", out.stderr));
        json["environments"][0]["diagnostics"]
            .as_array()
            .expect("diagnostics")
            .iter()
            .filter(|d| d["code"].as_str().is_some_and(|c| c.starts_with("RCTL1")))
            .map(|d| Finding {
                code: d["code"].as_str().unwrap_or_default().to_string(),
                severity: d["severity"].as_str().unwrap_or_default().to_string(),
                location: format!("{}:{}:{}", d["file"].as_str().unwrap_or_default(), d["line"], d["column"]),
                message: d["message"].as_str().unwrap_or_default().to_string(),
            })
            .collect()
    }

    /// Standard output of a command that must succeed.
    pub fn stdout_ok(&self, args: &[&str]) -> String {
        let out = Run::unbounded(&mut self.redisctl(args));
        assert!(out.success(), "redisctl {args:?} failed:\n{}\n{}", out.stdout, out.stderr);
        out.stdout
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub code: String,
    pub severity: String,
    /// `file:line:column`, relative to the project.
    pub location: String,
    pub message: String,
}

pub fn finding(code: &str, severity: &str, location: &str, message: &str) -> Finding {
    Finding { code: code.into(), severity: severity.into(), location: location.into(), message: message.into() }
}
