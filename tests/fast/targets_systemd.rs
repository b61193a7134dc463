//! `target: systemd`, what the rendered units and configs hold, read as text. Their checks
//! against real peers (systemd-analyze, redis-server) are in tests/peers/targets_systemd.rs.

use crate::common::targets::*;

#[test]
fn units_pass_secrets_from_the_environment_file_only() {
    let out = render("systemd-sentinel");
    let unit = std::fs::read_to_string(out.path().join("etc/systemd/system/redis-catalog@.service")).unwrap();
    assert!(unit.contains("EnvironmentFile=/etc/redis/catalog.env"), "{unit}");
    // The password reaches redis-server through auth.sh's private include, never argv.
    assert!(unit.contains("ExecStartPre=/bin/sh /etc/redis/catalog/auth.sh redis"), "{unit}");
    assert!(unit.contains("--include /run/redis-catalog/%i/auth.conf") && !unit.contains("--masterauth"), "{unit}");
    assert!(unit.contains("RuntimeDirectoryMode=0700"), "{unit}");
    for key in [
        "Type=notify",
        "Restart=always",
        "LimitNOFILE=",
        "User=redis",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "ReadWritePaths=",
    ] {
        assert!(unit.contains(key), "missing {key}");
    }
    let conf = std::fs::read_to_string(out.path().join("etc/redis/catalog/node-1.conf")).unwrap();
    assert!(
        conf.contains("supervised systemd")
            && conf.contains("replicaof 10.0.1.11 6379")
            && conf.contains("bind 10.0.2.11 127.0.0.1"),
        "{conf}"
    );
    let sysctl = std::fs::read_to_string(out.path().join("etc/sysctl.d/60-redis-catalog.conf")).unwrap();
    assert!(sysctl.contains("vm.overcommit_memory = 1"));
}
