//! `redisctl validate`: check environments and report every problem at once.

use serde_json::json;

use super::{Ctx, Format, EXIT_ERROR, EXIT_OK};
use crate::diagnostics::{Severity, Sources};
use crate::error::Error;
use crate::policy::{self, ReportedFinding};
use crate::secrets::Secrets;
use crate::units::Date;

#[derive(clap::Args, Debug)]
#[command(after_help = "Every problem is reported with file:line:column, the line, and a hint. Readiness \
                        policy findings (RCTL1xx) are included; waived ones are only counted. No secret value \
                        is needed: a password reference that does not resolve here is a warning (RCTL050).\n\
                        Exit code 0 when every checked environment is valid, 1 otherwise.\n\n\
                        Examples:\n  redisctl validate --all\n  redisctl validate --env production --format json\n  \
                        redisctl --project examples/cluster-3-shards validate")]
pub struct Args {
    /// Environment to check (default: all of them).
    #[arg(long, value_name = "NAME", conflicts_with = "all")]
    pub env: Option<String>,
    /// Check every environment in environments/ (the default).
    #[arg(long)]
    pub all: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(ctx: &Ctx, args: &Args) -> Result<i32, Error> {
    let envs = match &args.env {
        Some(env) => vec![env.clone()],
        None => ctx.project.environments().map_err(Error::msg)?,
    };
    if envs.is_empty() {
        return Err(Error::msg(format!(
            "no environments found in {}/environments (expected files such as environments/local.yaml)",
            ctx.project.dir.display()
        )));
    }
    let mut all_valid = true;
    let mut report = Vec::new();
    // Environments are checked on every core, then reported in order.
    let today = Date::today();
    let checked = crate::util::par::map(&envs, |env| {
        let mut sources = Sources::default();
        // Readiness policy findings join the contract's own diagnostics once it loads.
        let (diags, policy) = match crate::targets::load(&ctx.project, env, Secrets::FormOnly, &mut sources) {
            Ok(loaded) => {
                let evaluation = policy::evaluate(&loaded, today);
                let mut diags = loaded.warnings.clone();
                diags.extend(evaluation.diagnostics().cloned());
                (diags, Some(evaluation.report(&loaded, &sources)))
            }
            Err(diags) => (diags, None),
        };
        (sources, diags, policy)
    });
    for (env, (sources, diags, policy)) in envs.iter().zip(checked) {
        let waived: Vec<&ReportedFinding> =
            policy.iter().flat_map(|p| p.findings.iter().filter(|f| f.waived)).collect();
        let errors = diags.iter().filter(|d| d.severity == Severity::Error).count();
        let warnings = diags.len() - errors;
        all_valid &= errors == 0;
        match args.format {
            Format::Text => {
                ctx.print_diagnostics(&sources, &diags);
                let class = policy.as_ref().map(|p| format!(" [{}]", p.class.as_str())).unwrap_or_default();
                let waived = if waived.is_empty() { String::new() } else { format!(", {} waived", waived.len()) };
                if errors == 0 {
                    println!("{env}{class}: valid ({warnings} warning(s){waived})");
                } else {
                    println!("{env}{class}: invalid ({errors} error(s), {warnings} warning(s){waived})");
                }
            }
            Format::Json => report.push(json!({
                "environment": env,
                "valid": errors == 0,
                "errors": errors,
                "warnings": warnings,
                "class": policy.as_ref().map(|p| p.class),
                "diagnostics": diags.iter().map(|d| sources.to_json(d)).collect::<Vec<_>>(),
                "waived": waived,
                "waivers": policy.as_ref().map(|p| &p.waivers),
            })),
        }
    }
    if args.format == Format::Json {
        let out = json!({ "format_version": "1", "valid": all_valid, "environments": report });
        println!("{}", serde_json::to_string_pretty(&out).map_err(Error::msg)?);
    }
    Ok(if all_valid { EXIT_OK } else { EXIT_ERROR })
}
