//! Readiness policy: what a safe Redis deployment is, checked before anything is applied.
//!
//! A rule is data (stable ID, one-line reason citing the risk, fix hint, severity per class of
//! environment) plus one small function that returns the contract places that break it
//! (`rules.rs`). `evaluate` runs every rule on one loaded environment, applies the contract's
//! waivers and returns findings as `Diagnostic`s located at the line that causes them.
//! Errors block `apply`; warnings show in `validate` and `plan`.
//!
//! Classes of environment (`EnvClass`):
//! - **production**: the contract sets `productionLike: true`: the strictest levels.
//! - **local**: `target: process` (redis-server processes on this machine) and not
//!   production-like: a developer's disposable stack. Recognised by target, not by name: an
//!   environment called `dev` on a shared Kubernetes cluster is shared, not local.
//! - **shared**: everything else (systemd, compose, kubernetes, elasticache, not production-like).
//!
//! Managed (`target: elasticache`) is not a class but a property some rules read (TLS).

pub mod acl;
pub mod evidence;
pub mod parity;
pub mod review;
mod rules;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::contract::merge::SpanIndex;
use crate::contract::Loaded;
use crate::diagnostics::{Diagnostic, Severity, Sources, Span};
use crate::model::Contract;
use crate::units::Date;
pub use rules::RULES;

/// Code of waiver problems (unknown rule, blank reason, expiry).
pub const WAIVER_CODE: &str = "RCTL100";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvClass {
    Local,
    Shared,
    Production,
}

impl EnvClass {
    pub fn of(c: &Contract) -> EnvClass {
        match (c.production_like, c.target.facts().local) {
            (true, _) => EnvClass::Production,
            (false, true) => EnvClass::Local,
            (false, false) => EnvClass::Shared,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EnvClass::Local => "local",
            EnvClass::Shared => "shared",
            EnvClass::Production => "production",
        }
    }
}

/// A rule's severity in each class of environment; `None`: the rule does not apply there.
#[derive(Debug, Clone, Copy)]
pub struct Levels {
    pub local: Option<Severity>,
    pub shared: Option<Severity>,
    pub production: Option<Severity>,
}

impl Levels {
    pub fn get(&self, class: EnvClass) -> Option<Severity> {
        match class {
            EnvClass::Local => self.local,
            EnvClass::Shared => self.shared,
            EnvClass::Production => self.production,
        }
    }

    /// `off`, `warning` or `error` for local, shared and production (as in docs/policy.md).
    pub fn words(&self) -> [&'static str; 3] {
        [self.local, self.shared, self.production].map(|s| match s {
            None => "off",
            Some(Severity::Warning) => "warning",
            Some(Severity::Error) => "error",
        })
    }
}

/// What a rule sees.
pub struct Input<'a> {
    pub env: &'a str,
    pub contract: &'a Contract,
    pub class: EnvClass,
}

/// One place that breaks a rule: the JSON pointers of the contract value that causes it, most
/// precise first (the first one the contract sets is used), and what is wrong there.
#[derive(Debug)]
pub struct Hit {
    pub at: Vec<String>,
    pub message: String,
}

pub struct Rule {
    /// Stable identifier, `RCTL1xx`.
    pub id: &'static str,
    /// What the rule requires, in a few words.
    pub title: &'static str,
    /// The risk, in one line, citing where the requirement comes from.
    pub reason: &'static str,
    /// How to fix a finding.
    pub hint: &'static str,
    pub levels: Levels,
    pub check: fn(&Input) -> Vec<Hit>,
}

pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// A rule's finding in one environment.
#[derive(Debug)]
pub struct Finding {
    pub rule: &'static str,
    pub diagnostic: Diagnostic,
    /// Index in `policy.waivers` of the waiver that silences it.
    pub waived_by: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WaiverStatus {
    /// Applies: silences the rule's findings (possibly none today).
    Active,
    /// Past its `expires` date: no longer applies.
    Expired,
    /// Names no rule, or has a blank reason: ignored.
    Invalid,
}

/// Everything the policy says about one environment.
#[derive(Debug)]
pub struct Evaluation {
    pub class: EnvClass,
    pub findings: Vec<Finding>,
    /// Status of each entry of `policy.waivers`, in order.
    pub waivers: Vec<WaiverStatus>,
    /// Problems with the waivers themselves (`RCTL100`).
    pub waiver_diagnostics: Vec<Diagnostic>,
}

/// Run every rule on one environment and apply its waivers, as of `today`.
pub fn evaluate(loaded: &Loaded, today: Date) -> Evaluation {
    let c = &loaded.contract;
    let input = Input { env: &loaded.env, contract: c, class: EnvClass::of(c) };
    let (waivers, waiver_diagnostics) = check_waivers(loaded, today);
    let mut findings = Vec::new();
    for rule in RULES {
        let Some(severity) = rule.levels.get(input.class) else { continue };
        for hit in (rule.check)(&input) {
            let span = locate(&loaded.doc, &loaded.index, &hit.at);
            let mut diagnostic = Diagnostic::error(rule.id, hit.message).at(span).reason(rule.reason).hint(rule.hint);
            diagnostic.severity = severity;
            let waived_by = c
                .policy
                .waivers
                .iter()
                .zip(&waivers)
                .position(|(w, status)| w.rule == rule.id && *status == WaiverStatus::Active);
            findings.push(Finding { rule: rule.id, diagnostic, waived_by });
        }
    }
    Evaluation { class: input.class, findings, waivers, waiver_diagnostics }
}

fn check_waivers(loaded: &Loaded, today: Date) -> (Vec<WaiverStatus>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let at = |i: usize, field: &str| loaded.index.value(&format!("/policy/waivers/{i}/{field}"));
    let statuses = loaded
        .contract
        .policy
        .waivers
        .iter()
        .enumerate()
        .map(|(i, w)| {
            if rule(&w.rule).is_none() {
                diags.push(
                    Diagnostic::error(WAIVER_CODE, format!("waiver for `{}`, which is not a policy rule", w.rule))
                        .at(at(i, "rule"))
                        .hint(format!(
                            "policy rules are {}",
                            RULES.iter().map(|r| r.id).collect::<Vec<_>>().join(", ")
                        )),
                );
                WaiverStatus::Invalid
            } else if w.reason.trim().is_empty() {
                diags.push(
                    Diagnostic::error(WAIVER_CODE, format!("the waiver of {} has no reason", w.rule))
                        .at(at(i, "reason"))
                        .hint("say why the risk is accepted: a waiver without a reason is ignored"),
                );
                WaiverStatus::Invalid
            } else if w.expires.is_some_and(|e| e < today) {
                let expires = w.expires.map(|e| e.to_string()).unwrap_or_default();
                diags.push(
                    Diagnostic::warning(
                        WAIVER_CODE,
                        format!("the waiver of {} expired on {expires} and no longer applies", w.rule),
                    )
                    .at(at(i, "expires"))
                    .hint("fix the findings, or renew the waiver with a new date and a current reason"),
                );
                WaiverStatus::Expired
            } else {
                WaiverStatus::Active
            }
        })
        .collect();
    (statuses, diags)
}

/// The span of the first pointer the document sets: a scalar's value, or the key of a map or
/// list (its value starts on the next line); else the nearest ancestor of the last pointer.
fn locate(doc: &Value, index: &SpanIndex, pointers: &[String]) -> Option<Span> {
    for p in pointers {
        match doc.pointer(p) {
            Some(Value::Object(_) | Value::Array(_)) => return index.key(p),
            Some(_) => return index.value(p),
            None => {}
        }
    }
    pointers.last().and_then(|p| index.value(p))
}

impl Evaluation {
    /// What to show: findings that are not waived, then waiver problems.
    pub fn diagnostics(&self) -> impl Iterator<Item = &Diagnostic> {
        self.findings.iter().filter(|f| f.waived_by.is_none()).map(|f| &f.diagnostic).chain(&self.waiver_diagnostics)
    }

    /// Errors that block `apply`.
    pub fn errors(&self) -> usize {
        self.diagnostics().filter(|d| d.is_error()).count()
    }

    pub fn waived(&self) -> usize {
        self.findings.iter().filter(|f| f.waived_by.is_some()).count()
    }

    /// The presentable form, with locations resolved.
    pub fn report(&self, loaded: &Loaded, sources: &Sources) -> PolicyReport {
        let findings = self
            .findings
            .iter()
            .map(|f| ReportedFinding {
                rule: f.rule.to_string(),
                severity: f.diagnostic.severity,
                message: f.diagnostic.message.clone(),
                reason: f.diagnostic.reason.clone().unwrap_or_default(),
                hint: f.diagnostic.hint.clone().unwrap_or_default(),
                location: f.diagnostic.span.map(|s| sources.location(s)),
                waived: f.waived_by.is_some(),
            })
            .chain(self.waiver_diagnostics.iter().map(|d| ReportedFinding {
                rule: d.code.to_string(),
                severity: d.severity,
                message: d.message.clone(),
                reason: String::new(),
                hint: d.hint.clone().unwrap_or_default(),
                location: d.span.map(|s| sources.location(s)),
                waived: false,
            }))
            .collect();
        let waivers = loaded
            .contract
            .policy
            .waivers
            .iter()
            .zip(&self.waivers)
            .enumerate()
            .map(|(i, (w, status))| ReportedWaiver {
                rule: w.rule.clone(),
                reason: w.reason.clone(),
                expires: w.expires.map(|e| e.to_string()),
                status: *status,
                silenced: self.findings.iter().filter(|f| f.waived_by == Some(i)).count(),
                location: loaded.index.value(&format!("/policy/waivers/{i}")).map(|s| sources.location(s)),
            })
            .collect();
        PolicyReport { class: self.class, findings, waivers }
    }
}

/// The policy section of a plan (text, markdown and JSON presenters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyReport {
    pub class: EnvClass,
    /// Every finding, waived ones included (`waived: true`), then waiver problems.
    pub findings: Vec<ReportedFinding>,
    pub waivers: Vec<ReportedWaiver>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportedFinding {
    pub rule: String,
    pub severity: Severity,
    pub message: String,
    pub reason: String,
    pub hint: String,
    /// `file:line:column`.
    pub location: Option<String>,
    pub waived: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportedWaiver {
    pub rule: String,
    pub reason: String,
    pub expires: Option<String>,
    pub status: WaiverStatus,
    /// Findings this waiver silences in this environment.
    pub silenced: usize,
    pub location: Option<String>,
}

impl PolicyReport {
    pub fn count(&self, severity: Severity) -> usize {
        self.findings.iter().filter(|f| !f.waived && f.severity == severity).count()
    }
    pub fn waived(&self) -> usize {
        self.findings.iter().filter(|f| f.waived).count()
    }
}
