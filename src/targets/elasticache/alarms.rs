//! Observability on ElastiCache: the contract's SLOs and alerts as CloudWatch alarms on the
//! metrics ElastiCache publishes (namespace `AWS/ElastiCache`, one series per member node).
//!
//! ElastiCache runs the nodes, so there is no exporter and no Prometheus: each alert that has a
//! published metric becomes one alarm per member cluster (the node a metric is about changes
//! role at a failover, so every member is watched). Latency SLOs become burn-rate alarms: with
//! one-minute periods, "N of the last M minutes were bad" is exactly a burn rate over an
//! M-minute window, so each tier that CloudWatch can evaluate (windows up to one day) is one
//! alarm. What ElastiCache publishes no metric for is listed, not silently dropped.
//!
//! Alarm names start with `redisctl:<replication group>:`: that prefix is what redisctl owns
//! (observed with DescribeAlarms, deleted when no longer wanted); nothing else is touched.

use serde_json::{json, Value};

use super::Desired;
use crate::model::observability::{self, burn_rate, Severity, BURN_TIERS};
use crate::model::Contract;

pub const NAMESPACE: &str = "AWS/ElastiCache";

/// One CloudWatch metric alarm, in the API's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    pub name: String,
    pub description: String,
    pub metric: &'static str,
    /// `Average`, `Maximum` or `Sum`.
    pub statistic: &'static str,
    /// `CacheClusterId` and `CacheNodeId` of the member node.
    pub dimensions: Vec<(&'static str, String)>,
    pub period: u32,
    pub evaluation_periods: u32,
    pub datapoints_to_alarm: u32,
    pub threshold: f64,
    /// `GreaterThanThreshold` or `LessThanThreshold`.
    pub comparison: &'static str,
    /// A metric a node does not publish (a primary's replication lag, no traffic's latency) is
    /// not an outage: `notBreaching`.
    pub treat_missing_data: &'static str,
    pub severity: Severity,
    /// SNS topics of the severity.
    pub actions: Vec<String>,
}

impl Alarm {
    /// The PutMetricAlarm input with the API's field names (rendered, planned, compared).
    pub fn input(&self) -> Value {
        json!({
            "AlarmName": self.name,
            "AlarmDescription": self.description,
            "Namespace": NAMESPACE,
            "MetricName": self.metric,
            "Statistic": self.statistic,
            "Dimensions": self.dimensions.iter().map(|(k, v)| json!({ "Name": k, "Value": v })).collect::<Vec<_>>(),
            "Period": self.period,
            "EvaluationPeriods": self.evaluation_periods,
            "DatapointsToAlarm": self.datapoints_to_alarm,
            "Threshold": self.threshold,
            "ComparisonOperator": self.comparison,
            "TreatMissingData": self.treat_missing_data,
            "ActionsEnabled": true,
            "AlarmActions": self.actions,
            "OKActions": self.actions,
        })
    }
}

/// The alarms of an environment and the contract's alerts that have no ElastiCache metric.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Alarms {
    pub alarms: Vec<Alarm>,
    /// `(alert or SLO, why)`: what cannot be watched through CloudWatch metrics.
    pub unwatched: Vec<(String, &'static str)>,
}

/// The prefix of every alarm name redisctl owns for a replication group.
pub fn prefix(group_id: &str) -> String {
    format!("redisctl:{group_id}:")
}

/// The member clusters of a replication group, named as ElastiCache names them:
/// `<group>-001`… without cluster mode, `<group>-0001-001`… (shard, node) with it.
pub fn members(want: &Desired) -> Vec<String> {
    let per_shard = 1 + want.replicas_per_shard;
    if want.cluster_mode {
        (1..=want.shards)
            .flat_map(|s| (1..=per_shard).map(move |n| format!("{}-{s:04}-{n:03}", want.group_id)))
            .collect()
    } else {
        (1..=per_shard).map(|n| format!("{}-{n:03}", want.group_id)).collect()
    }
}

/// The metric of an alert: (metric, statistic, period in seconds, comparison, what it means).
fn metric_of(key: &str) -> Option<(&'static str, &'static str, u32, &'static str, &'static str)> {
    Some(match key {
        "memory" => (
            "DatabaseMemoryUsagePercentage",
            "Maximum",
            60,
            "GreaterThanThreshold",
            "memory used above {t} % of maxmemory",
        ),
        "evictions" => ("Evictions", "Sum", 300, "GreaterThanThreshold", "more than {t} keys evicted in 5 minutes"),
        "hitRate" => {
            ("CacheHitRate", "Average", 1800, "LessThanThreshold", "cache hit rate below {t} % over 30 minutes")
        }
        "replicaLag" => ("ReplicationLag", "Maximum", 60, "GreaterThanThreshold", "replication lag above {t} s"),
        "authFailures" => (
            "AuthenticationFailures",
            "Sum",
            300,
            "GreaterThanThreshold",
            "more than {t} failed AUTH commands in 5 minutes",
        ),
        _ => return None,
    })
}

/// Why an alert or SLO has no alarm on ElastiCache.
fn unwatched_reason(key: &str) -> &'static str {
    match key {
        "failovers" | "replicaDown" | "nodeDown" => {
            "ElastiCache replaces failed nodes and fails over itself and reports it as events, not metrics: \
             subscribe the group's notification topic"
        }
        "persistence" => "ElastiCache takes and checks its snapshots itself (no metric of a failed save)",
        "oom" | "rejectedConnections" => "ElastiCache publishes no metric of refused commands or connections",
        "availability" => "ElastiCache publishes no metric of primary reachability: use its events or a canary",
        _ => "no metric of this in AWS/ElastiCache",
    }
}

/// The latency metric of a class: ElastiCache's read-type or write-type command latency
/// (microseconds), when every command of the class is of that kind.
fn latency_metric(c: &Contract, commands: &[String]) -> Option<&'static str> {
    let table = crate::model::acl::table(c.redis.version);
    let is = |cmd: &str, category: &str| table.categories_of(cmd).iter().any(|x| x == category);
    if commands.iter().all(|cmd| is(cmd, "read") && !is(cmd, "write")) {
        Some("GetTypeCmdsLatency")
    } else if commands.iter().all(|cmd| is(cmd, "write")) {
        Some("SetTypeCmdsLatency")
    } else {
        None
    }
}

/// The environment's alarms (none without an `observability` section).
pub fn desired(c: &Contract, want: &Desired) -> Alarms {
    let Some(effective) = observability::effective(c) else {
        return Alarms::default();
    };
    let topics = &c.aws.alarm_topics;
    let actions = |s: Severity| match s {
        Severity::Page => topics.page.clone(),
        Severity::Ticket => topics.ticket.clone(),
        Severity::Off => Vec::new(),
    };
    let members = members(want);
    let prefix = prefix(&want.group_id);
    let dims = |m: &str| vec![("CacheClusterId", m.to_string()), ("CacheNodeId", "0001".to_string())];
    let mut out = Alarms::default();
    for a in &effective.alerts {
        let Some((metric, statistic, period, comparison, meaning)) = metric_of(a.key) else {
            out.unwatched.push((a.key.to_string(), unwatched_reason(a.key)));
            continue;
        };
        // `for`: the condition holds for that long, in whole periods.
        let periods = ((a.for_ms / 1000) as u32).div_ceil(period).max(1);
        for m in &members {
            out.alarms.push(Alarm {
                name: format!("{prefix}{}:{m}", a.key),
                description: format!(
                    "{}: {} on {m} ({}, observability.alerts.{})",
                    want.description,
                    meaning.replace("{t}", &a.threshold.to_string()),
                    a.severity.as_str(),
                    a.key
                ),
                metric,
                statistic,
                dimensions: dims(m),
                period,
                evaluation_periods: periods,
                datapoints_to_alarm: periods,
                threshold: a.threshold,
                comparison,
                treat_missing_data: "notBreaching",
                severity: a.severity,
                actions: actions(a.severity),
            });
        }
    }
    for slo in &effective.slos {
        let Some(threshold) = slo.threshold_seconds else {
            out.unwatched.push((slo.name.clone(), unwatched_reason(&slo.name)));
            continue;
        };
        let Some(metric) = latency_metric(c, &slo.commands) else {
            out.unwatched.push((
                slo.name.clone(),
                "ElastiCache measures read-type and write-type command latency apart: a class mixing both has no metric",
            ));
            continue;
        };
        // A CloudWatch alarm evaluates at most one day of periods: the tiers beyond are left out.
        for (share, hours, long, _short, may_page) in BURN_TIERS.iter().filter(|t| t.1 <= 24) {
            let minutes = (*hours * 60) as u32;
            let rate = burn_rate(*share, *hours, slo.window_days);
            let bad = ((rate * slo.budget() * minutes as f64).ceil() as u32).clamp(1, minutes);
            let severity = if *may_page { slo.severity } else { Severity::Ticket };
            for m in &members {
                out.alarms.push(Alarm {
                    name: format!("{prefix}{}-burn-{long}:{m}", slo.name),
                    description: format!(
                        "{}: {bad} of the last {minutes} minutes above {} ms mean latency on {m}: the {} % SLO's \
                         budget burns {rate:.1}x too fast ({})",
                        want.description,
                        threshold * 1000.0,
                        slo.objective,
                        severity.as_str()
                    ),
                    metric,
                    statistic: "Average",
                    dimensions: dims(m),
                    period: 60,
                    evaluation_periods: minutes,
                    datapoints_to_alarm: bad,
                    // ElastiCache publishes these latencies in microseconds.
                    threshold: threshold * 1_000_000.0,
                    comparison: "GreaterThanThreshold",
                    treat_missing_data: "notBreaching",
                    severity,
                    actions: actions(severity),
                });
            }
        }
    }
    out
}

#[cfg(feature = "elasticache")]
pub use provider::CloudWatchAlarms;

/// The alarms as a provider: observed with DescribeAlarms (the owned prefix), created and
/// updated with PutMetricAlarm (which replaces an alarm whole), deleted with DeleteAlarms.
#[cfg(feature = "elasticache")]
mod provider {
    use std::collections::BTreeMap;

    use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, MetricAlarm, StandardUnit, Statistic};
    use aws_sdk_cloudwatch::Client;
    use serde_json::{json, Value};
    use sha2::{Digest as _, Sha256};

    use super::{prefix, Alarm};
    use crate::error::Error;
    use crate::plan::state::State;
    use crate::plan::{Action, Address, ApplyOptions, Outcome, Provider, ProviderPlan, ResourceChange, Shown};
    use crate::providers::aws;

    pub const NAME: &str = "cloudwatch";

    pub struct CloudWatchAlarms {
        prefix: String,
        want: Vec<Alarm>,
        destroying: bool,
        client: Client,
        rt: tokio::runtime::Runtime,
        /// Alarm name → what exists, in the shape of `Alarm::input`.
        observed: BTreeMap<String, Value>,
    }

    fn address(name: &str) -> Address {
        Address::new(NAME, format!("alarm/{name}"))
    }

    /// What exists, in the fields redisctl sets (an alarm made elsewhere with the prefix shows
    /// every difference).
    fn observed_input(a: &MetricAlarm) -> Value {
        let strings = |v: Option<&[String]>| v.unwrap_or_default().to_vec();
        json!({
            "AlarmName": a.alarm_name(),
            "AlarmDescription": a.alarm_description(),
            "Namespace": a.namespace(),
            "MetricName": a.metric_name(),
            "Statistic": a.statistic().map(|s| s.as_str()),
            "Dimensions": a.dimensions().iter().map(|d| json!({ "Name": d.name(), "Value": d.value() })).collect::<Vec<_>>(),
            "Period": a.period(),
            "EvaluationPeriods": a.evaluation_periods(),
            "DatapointsToAlarm": a.datapoints_to_alarm(),
            "Threshold": a.threshold(),
            "ComparisonOperator": a.comparison_operator().map(|s| s.as_str()),
            "TreatMissingData": a.treat_missing_data(),
            "ActionsEnabled": a.actions_enabled(),
            "AlarmActions": strings(Some(a.alarm_actions())),
            "OKActions": strings(Some(a.ok_actions())),
        })
    }

    /// The fields of `after` that `before` does not have as such: (before, after) with only those.
    fn differing(before: &Value, after: &Value) -> Option<(Value, Value)> {
        let (b, a) = (before.as_object()?, after.as_object()?);
        let keys: Vec<&String> = a.keys().filter(|k| b.get(*k) != a.get(*k)).collect();
        if keys.is_empty() {
            return None;
        }
        let pick = |m: &serde_json::Map<String, Value>| -> Value {
            keys.iter().map(|k| ((*k).clone(), m.get(*k).cloned().unwrap_or(Value::Null))).collect()
        };
        Some((pick(b), pick(a)))
    }

    /// `Threshold 95 → 90, Period 60 → 300` (the description follows the others: left out
    /// unless it alone changed).
    fn changed_fields(before: &Value, after: &Value) -> String {
        let show = |v: Option<&Value>| match v {
            Some(Value::Number(n)) => n.as_f64().map_or(n.to_string(), |f| f.to_string()),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => "(none)".into(),
        };
        let fields: Vec<String> = after
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| k.as_str() != "AlarmDescription" || after.as_object().is_some_and(|m| m.len() == 1))
            .map(|(k, v)| format!("{k} {} → {}", show(before.get(k)), show(Some(v))))
            .collect();
        fields.join(", ")
    }

    impl CloudWatchAlarms {
        pub fn new(
            group_id: &str,
            want: Vec<Alarm>,
            region: Option<&str>,
            endpoint_url: Option<&str>,
        ) -> Result<Self, Error> {
            let rt = aws::runtime()?;
            let client = Client::new(&aws::sdk_config(&rt, region, endpoint_url)?);
            Ok(CloudWatchAlarms {
                prefix: prefix(group_id),
                want,
                destroying: false,
                client,
                rt,
                observed: BTreeMap::new(),
            })
        }

        /// Plan the deletion of every alarm redisctl owns for the group.
        pub fn destroying(mut self) -> Self {
            self.destroying = true;
            self.want.clear();
            self
        }

        fn observe(&self) -> Result<BTreeMap<String, Value>, Error> {
            let mut out = BTreeMap::new();
            let mut token = None;
            loop {
                let page = self
                    .rt
                    .block_on(
                        self.client
                            .describe_alarms()
                            .alarm_name_prefix(&self.prefix)
                            .set_next_token(token.take())
                            .send(),
                    )
                    .map_err(|e| aws::sdk_err("CloudWatch", "DescribeAlarms", e))?;
                for a in page.metric_alarms() {
                    if let Some(name) = a.alarm_name() {
                        out.insert(name.to_string(), observed_input(a));
                    }
                }
                match page.next_token() {
                    Some(t) if !t.is_empty() => token = Some(t.to_string()),
                    _ => return Ok(out),
                }
            }
        }

        fn put(&self, a: &Alarm) -> Result<(), Error> {
            let dimensions = a.dimensions.iter().map(|(k, v)| Dimension::builder().name(*k).value(v).build());
            let request = self
                .client
                .put_metric_alarm()
                .alarm_name(&a.name)
                .alarm_description(&a.description)
                .namespace(super::NAMESPACE)
                .metric_name(a.metric)
                .statistic(Statistic::from(a.statistic))
                .set_dimensions(Some(dimensions.collect()))
                .period(a.period as i32)
                .evaluation_periods(a.evaluation_periods as i32)
                .datapoints_to_alarm(a.datapoints_to_alarm as i32)
                .threshold(a.threshold)
                .comparison_operator(ComparisonOperator::from(a.comparison))
                .treat_missing_data(a.treat_missing_data)
                .actions_enabled(true)
                .set_alarm_actions(Some(a.actions.clone()))
                .set_ok_actions(Some(a.actions.clone()));
            // Latency is published in microseconds; the others carry their own unit.
            let request =
                if a.metric.ends_with("CmdsLatency") { request.unit(StandardUnit::Microseconds) } else { request };
            self.rt.block_on(request.send()).map_err(|e| aws::sdk_err("CloudWatch", "PutMetricAlarm", e))?;
            Ok(())
        }
    }

    impl Provider for CloudWatchAlarms {
        fn name(&self) -> &'static str {
            NAME
        }

        fn plan(&mut self, _state: &State) -> Result<ProviderPlan, Error> {
            self.observed = self.observe()?;
            let mut changes = Vec::new();
            for a in &self.want {
                let input = a.input();
                match self.observed.get(&a.name) {
                    None => {
                        let mut ch = ResourceChange::new(NAME, address(&a.name), Action::Create);
                        ch.summary = Some(format!("creates the alarm on {} ({})", a.metric, a.severity.as_str()));
                        ch.after = Some(Shown::Value(input));
                        changes.push(ch);
                    }
                    Some(have) => {
                        if let Some((before, after)) = differing(have, &input) {
                            let mut ch = ResourceChange::new(NAME, address(&a.name), Action::Update);
                            ch.summary = Some(format!("changes {}", changed_fields(&before, &after)));
                            ch.before = Some(Shown::Value(before));
                            ch.after = Some(Shown::Value(after));
                            changes.push(ch);
                        }
                    }
                }
            }
            for (name, have) in &self.observed {
                if !self.want.iter().any(|a| &a.name == name) {
                    let mut ch = ResourceChange::new(NAME, address(name), Action::Delete);
                    ch.reason = Some(if self.destroying {
                        "the environment is destroyed".into()
                    } else {
                        "the contract no longer asks for it".into()
                    });
                    ch.before = Some(Shown::Value(have.clone()));
                    changes.push(ch);
                }
            }
            let observed = serde_json::to_string(&self.observed).map_err(Error::msg)?;
            Ok(ProviderPlan { changes, observed: hex::encode(Sha256::digest(observed.as_bytes())) })
        }

        fn apply(
            &mut self,
            change: &ResourceChange,
            _state: &mut State,
            _opts: &ApplyOptions,
        ) -> Result<Outcome, Error> {
            let name = change.address.path().strip_prefix("alarm/").unwrap_or(change.address.path());
            match change.action {
                Action::Create | Action::Update | Action::Replace => {
                    let a = self.want.iter().find(|a| a.name == name).ok_or_else(|| {
                        Error::msg(format!("the contract no longer has the alarm `{name}`: plan again"))
                    })?;
                    self.put(a)?;
                }
                Action::Delete => {
                    self.rt
                        .block_on(self.client.delete_alarms().alarm_names(name).send())
                        .map_err(|e| aws::sdk_err("CloudWatch", "DeleteAlarms", e))?;
                }
                Action::NoOp => {}
            }
            Ok(Outcome::Applied)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired_for(topology: Value, observability: Value) -> (Contract, Alarms) {
        let doc = json!({
            "apiVersion": "redisctl/v1",
            "service": "orders",
            "target": "elasticache",
            "redis": { "version": "7.0", "workload": "queue", "maxmemoryPolicy": "noeviction" },
            "topology": topology,
            "aws": { "nodeType": "cache.t4g.small", "region": "eu-west-1",
                     "alarmTopics": { "page": ["arn:aws:sns:eu-west-1:123456789012:pager"] } },
            "observability": observability,
        });
        let c: Contract = serde_json::from_value(doc).unwrap();
        let want = Desired {
            group_id: "orders-prod".into(),
            cluster_mode: c.topology.mode == crate::model::TopologyMode::Cluster,
            shards: c.topology.shards.max(1),
            replicas_per_shard: match c.topology.mode {
                crate::model::TopologyMode::Cluster => c.topology.replicas_per_shard,
                crate::model::TopologyMode::Standalone => 0,
                _ => c.topology.replicas,
            },
            ..crate::targets::elasticache::tests::desired_stub()
        };
        let alarms = desired(&c, &want);
        (c, alarms)
    }

    #[test]
    fn members_are_named_as_elasticache_names_them() {
        let (_, a) = desired_for(json!({ "mode": "cluster", "shards": 2, "replicasPerShard": 1 }), json!({}));
        let mut members: Vec<&str> = a.alarms.iter().map(|a| a.dimensions[0].1.as_str()).collect();
        members.dedup();
        members.sort();
        members.dedup();
        assert_eq!(
            members,
            ["orders-prod-0001-001", "orders-prod-0001-002", "orders-prod-0002-001", "orders-prod-0002-002"]
        );
    }

    #[test]
    fn a_queue_pages_on_evictions_and_lists_what_has_no_metric() {
        let (_, a) = desired_for(json!({ "mode": "sentinel", "replicas": 1 }), json!({}));
        let ev: Vec<&Alarm> = a.alarms.iter().filter(|a| a.metric == "Evictions").collect();
        assert_eq!(ev.len(), 2, "one per member");
        assert_eq!(ev[0].name, "redisctl:orders-prod:evictions:orders-prod-001");
        assert_eq!((ev[0].threshold, ev[0].severity), (0.0, Severity::Page));
        assert_eq!(ev[0].actions, ["arn:aws:sns:eu-west-1:123456789012:pager"]);
        let unwatched: Vec<&str> = a.unwatched.iter().map(|(k, _)| k.as_str()).collect();
        for k in ["oom", "failovers", "availability"] {
            assert!(unwatched.contains(&k), "{k} in {unwatched:?}");
        }
        assert!(a.alarms.iter().all(|a| a.name.starts_with(&prefix("orders-prod"))));
    }

    #[test]
    fn latency_slos_become_burn_rate_alarms_of_one_minute_periods() {
        let (_, a) = desired_for(json!({ "mode": "standalone" }), json!({}));
        let reads: Vec<&Alarm> = a.alarms.iter().filter(|a| a.name.contains("latency-reads-burn")).collect();
        // 1h, 6h and 1d tiers (3d is beyond what an alarm evaluates), one member.
        assert_eq!(reads.len(), 3);
        let fast = reads[0];
        assert_eq!((fast.metric, fast.period, fast.evaluation_periods), ("GetTypeCmdsLatency", 60, 60));
        // 99 % over 30 days, 14.4x burn within an hour: 8.64 bad minutes, so 9 alarm.
        assert_eq!(fast.datapoints_to_alarm, 9);
        assert_eq!(fast.threshold, 5000.0, "5 ms in microseconds");
        assert_eq!(reads[2].severity, Severity::Ticket, "the 1d tier tickets");
        assert!(a.alarms.iter().any(|a| a.metric == "SetTypeCmdsLatency"));
    }

    #[test]
    fn a_mixed_latency_class_and_a_contract_without_observability() {
        let o = json!({ "slos": { "latency": [
            { "name": "mixed", "commands": ["get", "set"], "threshold": "2ms", "objective": 99.0 } ] } });
        let (_, a) = desired_for(json!({ "mode": "standalone" }), o);
        assert!(a.unwatched.iter().any(|(k, _)| k == "latency-mixed"));
        assert!(!a.alarms.iter().any(|a| a.name.contains("latency-mixed")));
        let doc = json!({ "apiVersion": "redisctl/v1", "service": "s",
            "redis": { "version": "7.0", "workload": "cache", "maxmemoryPolicy": "allkeys-lru" } });
        let c: Contract = serde_json::from_value(doc).unwrap();
        assert_eq!(desired(&c, &crate::targets::elasticache::tests::desired_stub()), Alarms::default());
    }
}
