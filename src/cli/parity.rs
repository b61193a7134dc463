//! `redisctl parity`: compare every environment and show what differs, and whether it may.

use std::fmt::Write;

use serde_json::json;

use super::{Ctx, EXIT_ERROR, EXIT_OK};
use crate::diagnostics::Sources;
use crate::error::Error;
use crate::policy::parity::{compare, Parity, Row, Status};
use crate::secrets::Secrets;
use crate::util::text::md_cell;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParityFormat {
    Text,
    Markdown,
    Json,
}

#[derive(clap::Args, Debug)]
#[command(after_help = "Locked settings (Redis major.minor, eviction policy, modules, workload, key prefix and \
                        clusterSafe, application users' ACL rules, client semantics and timeouts) must be equal \
                        in every environment; persistence must be equal outside local environments. Envelope \
                        settings (sizes, replica counts, target, topology scale, TLS material) may differ. \
                        A locked difference is a violation unless `parity.exceptions` lists it with a reason.\n\
                        Exit code 0 without violations, 1 with violations or invalid environments.\n\
                        Examples:\n  redisctl parity\n  redisctl parity --format markdown > parity.md")]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ParityFormat::Text)]
    pub format: ParityFormat,
    /// Show every setting, not only those that differ.
    #[arg(long)]
    pub all: bool,
}

pub fn run(ctx: &Ctx, args: &Args) -> Result<i32, Error> {
    let names = ctx.project.environments().map_err(Error::msg)?;
    if names.is_empty() {
        return Err(Error::msg("no environments found in environments/"));
    }
    let mut envs = Vec::new();
    for env in &names {
        let mut sources = Sources::default();
        let loaded = ctx.load_with_sources(env, Secrets::FormOnly, &mut sources)?;
        envs.push((loaded, sources));
    }
    let parity = compare(&envs);
    let shown: Vec<&Row> = parity.rows.iter().filter(|r| args.all || r.status != Status::Same).collect();
    match args.format {
        ParityFormat::Text => print!("{}", text(&parity, &shown)),
        ParityFormat::Markdown => print!("{}", markdown(&parity, &shown)),
        ParityFormat::Json => {
            let out = json!({
                "format_version": "1",
                "environments": parity.environments,
                "violations": parity.violations().count(),
                "settings": shown,
                "unused_exceptions": parity.unused_exceptions,
            });
            println!("{}", serde_json::to_string_pretty(&out).map_err(Error::msg)?);
        }
    }
    Ok(if parity.violations().next().is_some() { EXIT_ERROR } else { EXIT_OK })
}

fn value(r: &Row, env: &str) -> String {
    r.values.get(env).cloned().flatten().unwrap_or_else(|| "—".into())
}

fn status_word(r: &Row) -> &'static str {
    match r.status {
        Status::Same => "",
        Status::Envelope => "ok (envelope)",
        Status::Excepted => "excepted",
        Status::Violation => "VIOLATION",
    }
}

fn summary(parity: &Parity) -> String {
    let count = |s| parity.rows.iter().filter(|r| r.status == s).count();
    let violations = count(Status::Violation);
    let verdict = if violations == 0 { "in parity".to_string() } else { format!("{violations} violation(s)") };
    format!(
        "Parity: {verdict}; {} envelope difference(s), {} excepted.",
        count(Status::Envelope),
        count(Status::Excepted)
    )
}

fn text(parity: &Parity, rows: &[&Row]) -> String {
    let envs: Vec<&str> = parity.environments.iter().map(|e| e.name.as_str()).collect();
    let mut header = vec!["setting".to_string(), "class".to_string()];
    header.extend(parity.environments.iter().map(|e| format!("{} ({})", e.name, e.class.as_str())));
    header.push("status".into());
    let mut table = vec![header];
    for r in rows {
        let mut line = vec![r.setting.clone(), r.class.as_str().to_string()];
        line.extend(envs.iter().map(|e| value(r, e)));
        line.push(status_word(r).to_string());
        table.push(line);
    }
    let widths: Vec<usize> =
        (0..table[0].len()).map(|i| table.iter().map(|l| l[i].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for line in &table {
        let cells: Vec<String> = line.iter().zip(&widths).map(|(c, w)| format!("{c:w$}")).collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    if rows.is_empty() {
        let _ = writeln!(out, "(every setting is the same in every environment)");
    }
    for r in parity.rows.iter().filter(|r| r.problem.is_some()) {
        let _ = writeln!(out, "\n{}: {}", status_word(r).to_lowercase(), r.problem.as_deref().unwrap_or_default());
        for (env, loc) in &r.locations {
            let _ = writeln!(out, "  {env}: {} ({loc})", value(r, env));
        }
        let (label, text) = match &r.exception {
            Some(reason) => ("exception", reason.as_str()),
            None => ("fix", r.fix.as_deref().unwrap_or_default()),
        };
        let _ = writeln!(out, "  {label}: {text}");
    }
    for e in &parity.unused_exceptions {
        let _ = writeln!(out, "\nnote: the parity exception for `{}` allows no difference; remove it", e.setting);
    }
    let _ = writeln!(out, "\n{}", summary(parity));
    out
}

fn markdown(parity: &Parity, rows: &[&Row]) -> String {
    let mut out = format!("### redisctl parity\n\n**{}**\n\n", summary(parity));
    let names: Vec<String> =
        parity.environments.iter().map(|e| format!("`{}` ({})", e.name, e.class.as_str())).collect();
    let _ = writeln!(out, "| setting | class | {} | status |", names.join(" | "));
    let _ = writeln!(out, "|---|---|{}---|", "---|".repeat(names.len()));
    for r in rows {
        let values: Vec<String> =
            parity.environments.iter().map(|e| format!("`{}`", md_cell(&value(r, &e.name)))).collect();
        let _ =
            writeln!(out, "| `{}` | {} | {} | {} |", r.setting, r.class.as_str(), values.join(" | "), status_word(r));
    }
    for r in parity.rows.iter().filter(|r| r.problem.is_some()) {
        let why = r.exception.as_deref().map(|e| format!(" Exception: {}", md_cell(e))).unwrap_or_default();
        let _ =
            writeln!(out, "\n- **{}**: {}.{why}", status_word(r), md_cell(r.problem.as_deref().unwrap_or_default()));
    }
    out
}
