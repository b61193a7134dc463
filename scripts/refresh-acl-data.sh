#!/usr/bin/env bash
# Rewrite data/acl/<version>.toml for the installed redis-server from what it reports
# (ACL CAT, ACL CAT <category>, COMMAND LIST), then check the result. The reading is done by
# tests/peers/acl_data.rs, the same test that fails when the file and the server disagree.
# Versions without a server here come from the redis source: scripts/acl-data-from-source.py.
set -euo pipefail
cd "$(dirname "$0")/.."
test=the_recorded_acl_data_is_what_the_installed_server_reports
REDISCTL_WRITE_ACL_DATA=1 cargo test --no-default-features --test peers "$test" -- --exact "acl_data::$test" --nocapture
cargo test --no-default-features --test peers "$test"
git diff --stat -- data/acl/
