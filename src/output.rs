//! Plan presenters: text for terminals (Terraform's vocabulary), markdown for pull-request
//! comments, JSON for machines (documented by `schemas/plan.schema.json`).

use std::fmt::Write;

use serde_json::json;

use crate::plan::{Action, Plan, ResourceChange, Shown};

/// Markdown comments on GitHub are limited to 65,536 characters; stay well below.
pub const MARKDOWN_LIMIT: usize = 60_000;
pub const PLAN_FORMAT_VERSION: &str = "1.0";

struct Paint(bool);

impl Paint {
    fn code(&self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn action(&self, a: Action, s: &str) -> String {
        match a {
            Action::Create => self.code("32", s),
            Action::Update => self.code("33", s),
            Action::Delete => self.code("31", s),
            Action::Replace => self.code("35", s),
            Action::NoOp => s.to_string(),
        }
    }
    fn diff_line(&self, line: &str) -> String {
        if line.starts_with("+++") || line.starts_with("---") {
            self.code("1", line)
        } else if line.starts_with('+') {
            self.code("32", line)
        } else if line.starts_with('-') {
            self.code("31", line)
        } else if line.starts_with("@@") {
            self.code("36", line)
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

pub fn summary_line(plan: &Plan) -> String {
    if !plan.has_changes() {
        return "No changes. The environment matches the contract.".into();
    }
    let s = plan.summary();
    format!("Plan: {} to add, {} to change, {} to destroy.", s.add, s.change, s.destroy)
}

pub fn text(plan: &Plan, color: bool) -> String {
    let p = Paint(color);
    let mut out = String::new();
    let drift: Vec<&ResourceChange> = plan.drift().collect();
    if !drift.is_empty() {
        let _ = writeln!(out, "{}", p.code("1", "Drift: objects changed outside redisctl since the last apply"));
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
            let _ = writeln!(out, "  {}", p.code("1", &heading(c)));
            let _ = writeln!(out, "  {} {}", p.action(c.action, c.action.symbol()), c.address);
            match &c.diff {
                Some(diff) => {
                    for line in diff.lines() {
                        let _ = writeln!(out, "      {}", p.diff_line(line));
                    }
                }
                None => {
                    let _ = writeln!(out, "      {} → {}", shown(&c.before), shown(&c.after));
                }
            }
            out.push('\n');
        }
    }
    let _ = writeln!(out, "{}", p.code("1", &summary_line(plan)));
    out
}

pub fn markdown(plan: &Plan) -> String {
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
    let tail = format!(
        "\n<sub>{} value(s) redacted. Contract {}.</sub>\n",
        plan.redacted(),
        &plan.contract_fingerprint[..12.min(plan.contract_fingerprint.len())]
    );
    let mut body = String::new();
    let mut truncated = false;
    for c in &changes {
        let mut block = String::new();
        let _ = writeln!(block, "<details><summary><code>{} {}</code></summary>\n", c.action.symbol(), c.address);
        let _ = writeln!(
            block,
            "```diff\n{}```\n</details>\n",
            c.diff
                .clone()
                .unwrap_or_else(|| format!("{} → {}\n", shown(&c.before), shown(&c.after)))
                .replace("```", "`‵`")
        );
        if head.len() + body.len() + block.len() + tail.len() + 200 > MARKDOWN_LIMIT {
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
