//! Plan presenters: text for terminals (Terraform's vocabulary), markdown for pull-request
//! comments, JSON for machines (documented by `schemas/plan.schema.json`).

use std::fmt::Write;

use anstyle::{AnsiColor, Style};
use serde_json::json;

use crate::diagnostics::Severity;
use crate::environment::Verdict;
use crate::plan::engine::ApplyReport;
use crate::plan::{Action, Plan, ResourceChange, Shown};
use crate::policy::{PolicyReport, ReportedFinding, WaiverStatus};
use crate::util::text::md_cell;

/// Markdown comments on GitHub are limited to 65,536 characters; stay well below.
pub const MARKDOWN_LIMIT: usize = 60_000;
pub const PLAN_FORMAT_VERSION: &str = "1.0";

/// Colour for the text presenter, when the stream takes it (`--color`).
struct Paint(bool);

impl Paint {
    fn style(&self, style: Style, s: &str) -> String {
        if self.0 {
            format!("{style}{s}{style:#}")
        } else {
            s.to_string()
        }
    }
    fn color(&self, color: AnsiColor, s: &str) -> String {
        self.style(color.on_default(), s)
    }
    fn bold(&self, s: &str) -> String {
        self.style(Style::new().bold(), s)
    }
    fn action(&self, a: Action, s: &str) -> String {
        match a {
            Action::Create => self.color(AnsiColor::Green, s),
            Action::Update => self.color(AnsiColor::Yellow, s),
            Action::Delete => self.color(AnsiColor::Red, s),
            Action::Replace => self.color(AnsiColor::Magenta, s),
            Action::NoOp => s.to_string(),
        }
    }
    fn diff_line(&self, line: &str) -> String {
        if line.starts_with("+++") || line.starts_with("---") {
            self.bold(line)
        } else if line.starts_with('+') {
            self.color(AnsiColor::Green, line)
        } else if line.starts_with('-') {
            self.color(AnsiColor::Red, line)
        } else if line.starts_with("@@") {
            self.color(AnsiColor::Cyan, line)
        } else {
            line.to_string()
        }
    }
}

fn heading(c: &ResourceChange) -> String {
    let what = match c.action {
        Action::Create => "will be created",
        Action::Update => "will be updated in-place",
        Action::Delete => "will be destroyed",
        Action::Replace => "must be replaced",
        Action::NoOp => "is unchanged",
    };
    let mut notes = Vec::new();
    if let Some(r) = &c.reason {
        notes.push(r.clone());
    }
    if c.action == Action::Replace && c.reason.is_none() {
        notes.push("forces replacement".into());
    }
    if c.flags.destructive {
        notes.push("destroys data".into());
    }
    if c.flags.restart_required {
        notes.push("needs a restart".into());
    }
    if c.flags.live {
        notes.push("applied live".into());
    }
    let notes = if notes.is_empty() { String::new() } else { format!(" ({})", notes.join("; ")) };
    format!("# {} {what}{notes}", c.address)
}

fn shown(s: &Option<Shown>) -> String {
    match s {
        None => "(none)".into(),
        Some(Shown::Text(t)) => t.clone(),
        Some(Shown::Value(v)) => v.to_string(),
    }
}

/// What a change without a diff does, in words: the provider's sentence, else `before →
/// after`; nothing when neither side has a value (the heading says it all).
fn described(c: &ResourceChange) -> Option<String> {
    match (&c.summary, &c.before, &c.after) {
        (Some(s), _, _) => Some(s.clone()),
        (None, None, None) => None,
        (None, before, after) => Some(format!("{} → {}", shown(before), shown(after))),
    }
}

pub fn summary_line(plan: &Plan) -> String {
    if !plan.has_changes() {
        return "No changes. The environment matches the contract.".into();
    }
    let s = plan.summary();
    let mut line = format!("Plan: {} to add, {} to change, {} to destroy.", s.add, s.change, s.destroy);
    let commands = plan.exec_commands().count();
    if commands > 0 {
        line.push_str(&format!(" {commands} command(s) to run (--exec)."));
    }
    line
}

/// How an apply (or destroy: `what`) ended, after observing again: complete, incomplete (what
/// was skipped on purpose), or not converged (what is still planned).
pub fn verdict(what: &str, report: &ApplyReport, v: &Verdict) -> String {
    let s = report.summary;
    let done = format!("{} added, {} changed, {} destroyed", s.add, s.change, s.destroy);
    let list = |items: &mut dyn Iterator<Item = (String, &String)>| {
        items.map(|(a, why)| format!("  {a}: {why}\n")).collect::<String>()
    };
    let mut out = String::new();
    if !v.converged() {
        out += &format!(
            "\n{what} did not converge! Resources: {done}; observed again, {} change(s) are still planned:\n{}",
            v.unconverged.len(),
            list(&mut v.unconverged.iter().map(|(a, why)| (a.to_string(), why)))
        );
    }
    if !v.skipped.is_empty() {
        if v.converged() {
            out += &format!("\n{what} incomplete! Resources: {done}.\n");
        }
        out += &format!(
            "{} change(s) remain, skipped on purpose:\n{}",
            v.skipped.len(),
            list(&mut v.skipped.iter().map(|(a, why)| (a.clone(), why)))
        );
    }
    if out.is_empty() {
        out = format!("\n{what} complete! Resources: {done}.\n");
    }
    out
}

/// The `--exec` section: what runs after writing, in order, and what must run elsewhere.
fn exec_lines(plan: &Plan) -> Vec<String> {
    let Some(exec) = &plan.exec else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    if exec.commands.is_empty() {
        lines.push("apply --exec runs no command: nothing that needs one changed.".to_string());
    } else {
        lines.push("apply --exec runs, in order, after writing the files:".to_string());
        for (i, c) in exec.commands.iter().enumerate() {
            lines.push(format!("  {}. {}  # {}", i + 1, c.display(), c.why));
        }
    }
    if !exec.elsewhere.is_empty() {
        lines.push("Not run from here (other machines; run them there):".to_string());
        lines.extend(exec.elsewhere.iter().map(|e| format!("  {e}")));
    }
    lines
}

pub fn text(plan: &Plan, color: bool) -> String {
    let p = Paint(color);
    let mut out = String::new();
    let drift: Vec<&ResourceChange> = plan.drift().collect();
    if !drift.is_empty() {
        let _ = writeln!(out, "{}", p.bold("Drift: objects changed outside redisctl since the last apply"));
        for c in &drift {
            let _ = writeln!(
                out,
                "  {} {}  # {}",
                p.action(c.action, c.action.symbol()),
                c.address,
                c.reason.as_deref().unwrap_or("changed")
            );
        }
        out.push('\n');
    }
    let changes: Vec<&ResourceChange> = plan.changes.iter().filter(|c| c.is_change()).collect();
    if !changes.is_empty() {
        let _ = writeln!(
            out,
            "redisctl will perform the following actions (environment {}, target {}):\n",
            plan.environment, plan.target
        );
        for c in changes {
            let _ = writeln!(out, "  {}", p.bold(&heading(c)));
            let _ = writeln!(out, "  {} {}", p.action(c.action, c.action.symbol()), c.address);
            match &c.diff {
                Some(diff) => {
                    for line in diff.lines() {
                        let _ = writeln!(out, "      {}", p.diff_line(line));
                    }
                }
                None => {
                    if let Some(what) = described(c) {
                        let _ = writeln!(out, "      {what}");
                    }
                }
            }
            out.push('\n');
        }
    }
    let exec = exec_lines(plan);
    if !exec.is_empty() {
        let _ = writeln!(out, "{}", p.bold(&exec[0]));
        for line in &exec[1..] {
            let _ = writeln!(out, "{line}");
        }
        out.push('\n');
    }
    if let Some(policy) = &plan.policy {
        policy_text(&mut out, policy, &p);
    }
    let _ = writeln!(out, "{}", p.bold(&summary_line(plan)));
    out
}

/// `1 error, 2 warnings, 1 waived`.
fn policy_counts(policy: &PolicyReport) -> String {
    let (e, w, x) = (policy.count(Severity::Error), policy.count(Severity::Warning), policy.waived());
    if e + w + x == 0 {
        return "no findings".into();
    }
    format!("{e} error(s), {w} warning(s), {x} waived")
}

fn finding_word(f: &ReportedFinding) -> &'static str {
    match (f.waived, f.severity) {
        (true, _) => "waived",
        (false, Severity::Error) => "error",
        (false, Severity::Warning) => "warning",
    }
}

fn waiver_status(w: &crate::policy::ReportedWaiver) -> String {
    let until = w.expires.as_deref().map(|e| format!(" until {e}")).unwrap_or_default();
    match w.status {
        WaiverStatus::Active => format!("active{until}, silences {} finding(s)", w.silenced),
        WaiverStatus::Expired => format!("expired on {}, no longer applies", w.expires.as_deref().unwrap_or("?")),
        WaiverStatus::Invalid => "invalid, ignored".into(),
    }
}

fn policy_text(out: &mut String, policy: &PolicyReport, p: &Paint) {
    let _ = writeln!(
        out,
        "{}",
        p.bold(&format!("Readiness policy ({} environment): {}", policy.class.as_str(), policy_counts(policy)))
    );
    for f in &policy.findings {
        let word = match (f.waived, f.severity) {
            (true, _) => finding_word(f).to_string(),
            (false, Severity::Error) => p.color(AnsiColor::Red, "error"),
            (false, Severity::Warning) => p.color(AnsiColor::Yellow, "warning"),
        };
        let at = f.location.as_deref().map(|l| format!(" {l}:")).unwrap_or_default();
        let _ = writeln!(out, "  {word}[{}]{at} {}", f.rule, f.message);
        if !f.waived {
            for (label, text) in [("why", &f.reason), ("fix", &f.hint)] {
                if !text.is_empty() {
                    let _ = writeln!(out, "      {label}: {text}");
                }
            }
        }
    }
    if !policy.waivers.is_empty() {
        let _ = writeln!(out, "Waivers:");
        for w in &policy.waivers {
            let at = w.location.as_deref().map(|l| format!(" ({l})")).unwrap_or_default();
            let _ = writeln!(out, "  {} {}: {:?}{at}", w.rule, waiver_status(w), w.reason);
        }
    }
    let errors = policy.count(Severity::Error);
    if errors > 0 {
        let _ = writeln!(out, "{}", p.color(AnsiColor::Red, &format!("apply is blocked by {errors} policy error(s).")));
    }
    out.push('\n');
}

fn policy_markdown(out: &mut String, policy: &PolicyReport) {
    let _ = writeln!(out, "#### Readiness policy ({} environment): {}\n", policy.class.as_str(), policy_counts(policy));
    if !policy.findings.is_empty() {
        let _ = writeln!(out, "| | rule | where | finding |\n|---|---|---|---|");
        for f in &policy.findings {
            let mut text = md_cell(&f.message);
            if !f.waived {
                for (label, extra) in [("why", &f.reason), ("fix", &f.hint)] {
                    if !extra.is_empty() {
                        let _ = write!(text, "<br>*{label}:* {}", md_cell(extra));
                    }
                }
            }
            let at = f.location.as_deref().map(|l| format!("`{l}`")).unwrap_or_default();
            let _ = writeln!(out, "| {} | `{}` | {at} | {text} |", finding_word(f), f.rule);
        }
        out.push('\n');
    }
    if !policy.waivers.is_empty() {
        let _ = writeln!(out, "**Waivers**\n\n| rule | status | reason | where |\n|---|---|---|---|");
        for w in &policy.waivers {
            let at = w.location.as_deref().map(|l| format!("`{l}`")).unwrap_or_default();
            let _ = writeln!(out, "| `{}` | {} | {} | {at} |", w.rule, waiver_status(w), md_cell(&w.reason));
        }
        out.push('\n');
    }
    let errors = policy.count(Severity::Error);
    if errors > 0 {
        let _ = writeln!(out, "> [!CAUTION]\n> `apply` is blocked by {errors} policy error(s).\n");
    }
}

pub fn markdown(plan: &Plan) -> String {
    markdown_within(plan, MARKDOWN_LIMIT)
}

/// The markdown of one plan in at most about `limit` bytes: the diffs that do not fit are left
/// out, and the document says so.
fn markdown_within(plan: &Plan, limit: usize) -> String {
    let mut head = String::new();
    let _ = writeln!(head, "### redisctl plan: `{}` ({})\n", plan.environment, plan.target);
    let _ = writeln!(head, "**{}**\n", summary_line(plan));
    let drift: Vec<&ResourceChange> = plan.drift().collect();
    if !drift.is_empty() {
        let _ = writeln!(head, "> [!WARNING]\n> Changed outside redisctl since the last apply:");
        for c in &drift {
            let _ = writeln!(head, "> - `{}`: {}", c.address, c.reason.as_deref().unwrap_or("changed"));
        }
        head.push('\n');
    }
    let changes: Vec<&ResourceChange> = plan.changes.iter().filter(|c| c.is_change()).collect();
    if !changes.is_empty() {
        let _ = writeln!(head, "| | resource | why |\n|---|---|---|");
        for c in &changes {
            let why = c.reason.clone().unwrap_or_else(|| format!("will be {}", c.action.verb()));
            let _ = writeln!(head, "| `{}` | `{}` | {why} |", c.action.symbol(), c.address);
        }
        head.push('\n');
    }
    let exec = exec_lines(plan);
    if let Some((first, rest)) = exec.split_first() {
        let _ = writeln!(head, "**{first}**\n");
        if !rest.is_empty() {
            let _ = writeln!(head, "```\n{}\n```\n", rest.join("\n").replace("```", "`‵`"));
        }
    }
    if let Some(policy) = &plan.policy {
        policy_markdown(&mut head, policy);
    }
    let tail = format!(
        "\n<sub>{} value(s) redacted. Contract {}.</sub>\n",
        plan.redacted(),
        &plan.contract_fingerprint[..12.min(plan.contract_fingerprint.len())]
    );
    let mut body = String::new();
    let mut truncated = false;
    for c in &changes {
        let mut block = String::new();
        let title = format!("<code>{} {}</code>", c.action.symbol(), c.address);
        match (&c.diff, described(c)) {
            (Some(diff), _) => {
                let diff = diff.replace("```", "`‵`");
                let _ = writeln!(block, "<details><summary>{title}</summary>\n\n```diff\n{diff}```\n</details>\n");
            }
            (None, Some(what)) => {
                let _ = writeln!(block, "<details><summary>{title}</summary>\n\n{}\n</details>\n", md_cell(&what));
            }
            (None, None) => {
                let _ = writeln!(block, "{title}\n");
            }
        }
        if head.len() + body.len() + block.len() + tail.len() + 200 > limit {
            truncated = true;
            break;
        }
        body.push_str(&block);
    }
    if truncated {
        let _ = writeln!(
            body,
            "\n*Output truncated to stay under {MARKDOWN_LIMIT} characters: run `redisctl plan --env {}` for the full plan.*\n",
            plan.environment
        );
    }
    format!("{head}{body}{tail}")
}

/// One environment of `plan --all`: its plan, or why it could not be planned (each error, located).
pub struct EnvironmentPlan {
    pub environment: String,
    pub plan: Result<Plan, Vec<String>>,
}

/// The first line of `plan --all --format markdown`: a bot finds its own sticky comment by it
/// and updates that comment instead of adding one per push.
pub const PLAN_ALL_MARKER: &str = "<!-- redisctl-plan -->";

fn overview(e: &EnvironmentPlan) -> (String, String, String) {
    match &e.plan {
        Ok(plan) => {
            let policy = plan.policy.as_ref().map(policy_counts).unwrap_or_default();
            (plan.target.clone(), summary_line(plan), policy)
        }
        Err(why) => {
            let more = if why.len() > 1 { format!(" (and {} more)", why.len() - 1) } else { String::new() };
            ("—".into(), format!("not planned: {}{more}", why.first().map(String::as_str).unwrap_or("")), String::new())
        }
    }
}

/// Every environment in one pull-request comment: the marker, a summary table, then each
/// environment's plan (sharing the size limit) or why it was not planned.
pub fn markdown_all(plans: &[EnvironmentPlan]) -> String {
    let mut out = format!("{PLAN_ALL_MARKER}\n## redisctl plan: every environment\n\n");
    let _ = writeln!(out, "| environment | target | plan | readiness policy |\n|---|---|---|---|");
    for e in plans {
        let (target, plan, policy) = overview(e);
        let plan = if e.plan.is_ok() { md_cell(&plan) } else { format!("**{}**", md_cell(&plan)) };
        let _ = writeln!(out, "| `{}` | {} | {plan} | {} |", e.environment, md_cell(&target), md_cell(&policy));
    }
    out.push('\n');
    let mut sections = String::new();
    for e in plans.iter().filter(|e| e.plan.is_err()) {
        let why = e.plan.as_ref().err().map(Vec::as_slice).unwrap_or_default();
        let _ = writeln!(sections, "### redisctl plan: `{}` was not planned\n", e.environment);
        for line in why {
            let _ = writeln!(sections, "- {}", md_cell(line));
        }
        sections.push('\n');
    }
    // The plans share what is left of the limit; a small one leaves more to the next.
    let planned: Vec<&Plan> = plans.iter().filter_map(|e| e.plan.as_ref().ok()).collect();
    for (i, plan) in planned.iter().enumerate() {
        let left = MARKDOWN_LIMIT.saturating_sub(out.len() + sections.len());
        sections.push_str(&markdown_within(plan, left / (planned.len() - i)));
        sections.push('\n');
    }
    out + &sections
}

/// Every environment for a terminal: a summary first, then each plan or why it was not planned.
pub fn text_all(plans: &[EnvironmentPlan], color: bool) -> String {
    let p = Paint(color);
    let width = plans.iter().map(|e| e.environment.len()).max().unwrap_or(0);
    let mut out = format!("{}\n", p.bold("Every environment:"));
    for e in plans {
        let (target, plan, _) = overview(e);
        let _ = writeln!(out, "  {:<width$}  {:<12} {plan}", e.environment, target);
    }
    for e in plans {
        let _ = writeln!(out, "\n{}\n", p.bold(&format!("=== {} ===", e.environment)));
        match &e.plan {
            Ok(plan) => out.push_str(&text(plan, color)),
            Err(why) => {
                let _ = writeln!(out, "Not planned:");
                for line in why {
                    let _ = writeln!(out, "  {line}");
                }
            }
        }
    }
    out
}

pub fn json(plan: &Plan) -> serde_json::Value {
    let s = plan.summary();
    json!({
        "format_version": PLAN_FORMAT_VERSION,
        "redisctl_version": env!("CARGO_PKG_VERSION"),
        "environment": plan.environment,
        "target": plan.target,
        "contract_fingerprint": plan.contract_fingerprint,
        "observed_fingerprint": plan.observed_fingerprint,
        "has_changes": plan.has_changes(),
        "summary": { "add": s.add, "change": s.change, "destroy": s.destroy },
        "redacted_values": plan.redacted(),
        "drift": plan.drift().map(|c| c.address.clone()).collect::<Vec<_>>(),
        "exec": plan.exec,
        "policy": plan.policy.as_ref().map(|p| json!({
            "class": p.class,
            "errors": p.count(Severity::Error),
            "warnings": p.count(Severity::Warning),
            "waived": p.waived(),
            "findings": p.findings,
            "waivers": p.waivers,
        })),
        "resource_changes": plan.changes.iter().map(|c| json!({
            "address": c.address,
            "provider": c.provider,
            "change": {
                "actions": c.action.as_list(),
                "before": c.before,
                "after": c.after,
                "diff": c.diff,
            },
            "reason": c.reason,
            "flags": c.flags,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Address;

    fn plan(changes: Vec<ResourceChange>) -> Plan {
        Plan::new("dev", "process", changes)
    }

    #[test]
    fn a_change_says_what_it_does_and_never_none_to_none() {
        let mut stop = ResourceChange::new("process", Address::new("process", "node-0"), Action::Delete);
        stop.reason = Some("stopped with SHUTDOWN".into());
        let bare = ResourceChange::new("process", Address::new("process", "node-1"), Action::Delete);
        stop.summary = Some("stops redis-server on 127.0.0.1:6379 (pid 42)".into());
        let mut value = ResourceChange::new("redis", Address::new("redis-config", "node-0/timeout"), Action::Update);
        value.before = Some(Shown::Text("timeout 0".into()));
        value.after = Some(Shown::Text("timeout 300".into()));
        let p = plan(vec![stop, bare, value]);
        for out in [text(&p, false), markdown(&p)] {
            assert!(out.contains("stops redis-server on 127.0.0.1:6379 (pid 42)"), "{out}");
            assert!(out.contains("timeout 0 → timeout 300"), "{out}");
            assert!(!out.contains("(none)"), "{out}");
            assert!(out.contains("process:node-1"), "{out}");
        }
    }
}
