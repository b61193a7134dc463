//! Sentinel queries and controlled failover.

use std::time::Duration;

use super::client::{info, poll, run};
use super::ready::probe;
use super::{Member, Stack};
use crate::error::{Error, Result};

impl Stack {
    /// The primary address the Sentinels report (`SENTINEL GET-MASTER-ADDR-BY-NAME`), from the
    /// first Sentinel that answers.
    pub fn sentinel_master_addr(&self) -> Result<(String, u32)> {
        let mut last = Error::msg(format!("environment `{}` has no Sentinels", self.deployment.env));
        for s in &self.deployment.sentinels {
            match self.master_addr_from(Member::Sentinel(s)) {
                Ok(addr) => return Ok(addr),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn master_addr_from(&self, m: Member) -> Result<(String, u32)> {
        let mut con = self.conn(m)?;
        let addr: Option<(String, u32)> =
            run(&mut con, m.name(), &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", &self.deployment.master_name])?;
        addr.ok_or_else(|| Error::msg(format!("{} does not monitor `{}`", m.name(), self.deployment.master_name)))
    }

    /// `SENTINEL FAILOVER`, then wait until every Sentinel that answers (at least a quorum)
    /// reports a new primary and that node takes a probe write. Returns its name.
    pub fn sentinel_failover(&self, timeout: Duration) -> Result<String> {
        let (_, port) = self.sentinel_master_addr()?;
        self.sentinel_failover_from(port, timeout)
    }

    /// Move the primary role away from the node at `port`: `SENTINEL FAILOVER` while the
    /// Sentinels still report it (a failover they already started is waited for), then wait
    /// until every Sentinel that answers (at least a quorum) reports another node, which
    /// reports itself primary and takes a probe write. Returns its name.
    pub(super) fn sentinel_failover_from(&self, port: u32, timeout: Duration) -> Result<String> {
        let s = self.deployment.sentinels.first().ok_or_else(|| Error::msg("no Sentinels"))?;
        if self.sentinel_master_addr()?.1 == port {
            let failover = run::<()>(
                &mut self.conn(Member::Sentinel(s))?,
                &s.name,
                &["SENTINEL", "FAILOVER", &self.deployment.master_name],
            );
            match failover {
                Err(e) if e.to_string().contains("INPROG") => {}
                other => other?,
            }
        }
        poll(timeout, || {
            let seen: Vec<(String, u32)> = self
                .deployment
                .sentinels
                .iter()
                .filter_map(|s| self.master_addr_from(Member::Sentinel(s)).ok())
                .collect();
            let new = seen
                .first()
                .filter(|a| a.1 != port && seen.len() as u32 >= self.deployment.quorum && seen.iter().all(|b| b == *a));
            let node = new.and_then(|(_, port)| self.node_at(*port));
            let node = node.ok_or_else(|| {
                Error::msg(format!("the Sentinels report {seen:?} (was port {port}) after {timeout:?}"))
            })?;
            let mut con = self.conn(Member::Node(node))?;
            if info(&mut con, &node.name)?.get("role").map(String::as_str) != Some("master") {
                return Err(Error::msg(format!("{} is reported primary but is not one yet", node.name)));
            }
            probe(&mut con, &node.name, None)?;
            Ok(node.name.clone())
        })
    }
}
