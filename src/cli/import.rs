//! `redisctl import --env NAME`: write the contract of a running deployment.

use std::path::PathBuf;

use super::{Ctx, EXIT_OK};
use crate::contract::{valid_env_name, Project, BASE_FILE};
use crate::diagnostics::Sources;
use crate::error::Error;
use crate::ops::import::{import, Request};
use crate::ops::{parse_address, Login, PasswordSource};
use crate::secrets::{Secret, Secrets};
use crate::util::fs::write_atomic;

#[derive(clap::Args, Debug)]
#[command(after_help = "Import reads a running deployment and writes redisctl.yaml and environments/<env>.yaml \
                        for it: a standalone node, a primary with replicas (give any node), a Sentinel set \
                        (--sentinel: SENTINEL MASTERS, REPLICAS and SENTINELS), a Redis Cluster (any node: \
                        CLUSTER SHARDS), or an ElastiCache replication group (--elasticache ID: \
                        DescribeReplicationGroups, DescribeCacheClusters, DescribeCacheParameters; written as \
                        `target: elasticache`, the AUTH token as a reference).\n\n\
                        What it writes:\n  \
                        - settings from CONFIG GET *, only those that differ from the version's defaults (the \
                        directive table), without what the target renders itself (ports, paths, replication links);\n  \
                        - ACL users from ACL LIST with password *references* (`fromEnv: <SERVICE>_<USER>_PASSWORD`) \
                        that you fill in: hashes are never turned back into secrets, nor written;\n  \
                        - the workload and key prefix suggested from INFO keyspace and a bounded SCAN sample, \
                        marked `review:` in the YAML and listed on standard output;\n  \
                        - `target: systemd` with the hosts and ports the servers run on: redisctl reaches them \
                        there with `plan --live`, and does not run them (TLS: --tls-ca-file, and a client \
                        certificate with --tls-cert-file/--tls-key-file; the contract gets the servers' own paths);\n  \
                        - the deployment files, adopted as Terraform's import adopts a resource: rendered from the \
                        new contract with the users' password hashes as the servers hold them, written to the \
                        output directory and recorded in its state (nothing on the servers changes).\n\n\
                        Then: set the password variables, and `redisctl plan --env NAME` (or `--live`) shows no \
                        changes but those import listed for you to decide. ElastiCache: give the AUTH token in \
                        use with --auth-token-env VAR, or the plan rotates to the reference's token.\n\
                        Existing files are never overwritten without --force; nothing is written on an error. \
                        Passwords are read from a variable or a file, never from the command line.\n\n\
                        Examples:\n  \
                        OPS_PW=... redisctl import --env production --service catalog --address 10.0.1.11:6379 --user ops --password-env OPS_PW\n  \
                        redisctl import --env production --sentinel 10.0.1.11:26379 --sentinel-user watcher \
                        --sentinel-password-file ~/.sentinel-pw --user ops --password-file ~/.ops-pw\n  \
                        redisctl import --env production --service catalog --elasticache catalog-prod --region eu-west-1 --auth-token-env TOKEN")]
pub struct Args {
    /// Name of the environment to write (`environments/NAME.yaml`).
    #[arg(long, value_name = "NAME")]
    pub env: String,
    /// Service name of the contract. Default: the Sentinel master name.
    #[arg(long, value_name = "NAME")]
    pub service: Option<String>,
    /// A node of the deployment, HOST:PORT (any node: a replica leads to its primary).
    #[arg(long, value_name = "HOST:PORT", required_unless_present_any = ["sentinel", "elasticache"])]
    pub address: Option<String>,
    /// A Sentinel monitoring the deployment, HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    pub sentinel: Option<String>,
    /// The Sentinel master name, when the Sentinel monitors several.
    #[arg(long, value_name = "NAME", requires = "sentinel")]
    pub master_name: Option<String>,
    /// User to read the nodes as (CONFIG GET, ACL LIST, INFO, SCAN, TYPE); it becomes the
    /// contract's `role: operator` user.
    #[arg(long, value_name = "USER", required_unless_present = "elasticache")]
    pub user: Option<String>,
    /// Environment variable holding the password of --user.
    #[arg(long, value_name = "VAR", conflicts_with = "password_file")]
    pub password_env: Option<String>,
    /// File holding the password of --user.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// User to ask the Sentinels as; it becomes the `role: sentinel` user. Default: --user.
    #[arg(long, value_name = "USER", requires = "sentinel")]
    pub sentinel_user: Option<String>,
    /// Environment variable holding the password of --sentinel-user.
    #[arg(long, value_name = "VAR", conflicts_with = "sentinel_password_file")]
    pub sentinel_password_env: Option<String>,
    /// File holding the password of --sentinel-user.
    #[arg(long, value_name = "FILE")]
    pub sentinel_password_file: Option<PathBuf>,
    /// Keys to sample with SCAN for the suggestions (bounded: at most 10000).
    #[arg(long, value_name = "N", default_value_t = 200, value_parser = clap::value_parser!(u32).range(0..=10000))]
    pub sample: u32,
    /// An ElastiCache replication group to import (DescribeReplicationGroups, DescribeCacheClusters,
    /// DescribeCacheParameters), with the standard AWS credentials; needs --service.
    #[arg(long, value_name = "ID", conflicts_with_all = ["address", "sentinel", "user"], requires = "service")]
    pub elasticache: Option<String>,
    /// AWS region of --elasticache. Default: AWS_REGION, then the profile's region.
    #[arg(long, value_name = "REGION", requires = "elasticache")]
    pub region: Option<String>,
    /// Environment variable holding the AUTH token the --elasticache group uses now: recorded
    /// (as a salted digest) as the token in use, so that the plan does not rotate it. The API
    /// never returns the token: without it, the plan shows a rotation to the reference's value.
    #[arg(long, value_name = "VAR", requires = "elasticache")]
    pub auth_token_env: Option<String>,
    /// CA certificate (PEM) that signed the servers' certificates: import connects over TLS.
    #[arg(long, value_name = "FILE", conflicts_with = "elasticache")]
    pub tls_ca_file: Option<PathBuf>,
    /// Client certificate (PEM) to present, for servers that require one (`tls-auth-clients`).
    #[arg(long, value_name = "FILE", requires_all = ["tls_ca_file", "tls_key_file"])]
    pub tls_cert_file: Option<PathBuf>,
    /// Private key (PEM) of --tls-cert-file.
    #[arg(long, value_name = "FILE", requires = "tls_cert_file")]
    pub tls_key_file: Option<PathBuf>,
    /// Overwrite redisctl.yaml and environments/NAME.yaml if they exist.
    #[arg(long)]
    pub force: bool,
}

fn source(env: &Option<String>, file: &Option<PathBuf>) -> Option<PasswordSource> {
    env.clone().map(PasswordSource::Env).or_else(|| file.clone().map(PasswordSource::File))
}

fn import_self_hosted(args: &Args) -> Result<crate::ops::import::Imported, Error> {
    let user = args.user.clone().ok_or_else(|| Error::usage("give the user to log in as with --user"))?;
    let password = source(&args.password_env, &args.password_file)
        .ok_or_else(|| Error::usage("give the password of --user with --password-env VAR or --password-file FILE"))?
        .read()?;
    let login = Login { user: user.clone(), password };
    let sentinel_user = args.sentinel_user.clone().unwrap_or_else(|| user.clone());
    let sentinel_login = match source(&args.sentinel_password_env, &args.sentinel_password_file) {
        Some(s) => Some(Login { user: sentinel_user, password: s.read()? }),
        None if args.sentinel.is_some() => Some(Login { user: sentinel_user, password: login.password.clone() }),
        None => None,
    };
    let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
    let tls = crate::model::Tls {
        enabled: args.tls_ca_file.is_some(),
        ca_file: path(&args.tls_ca_file),
        cert_file: path(&args.tls_cert_file),
        key_file: path(&args.tls_key_file),
    };
    let req = Request {
        tls,
        env: args.env.clone(),
        service: args.service.clone(),
        node: args.address.as_deref().map(parse_address).transpose()?,
        sentinel: args.sentinel.as_deref().map(parse_address).transpose()?,
        master_name: args.master_name.clone(),
        login,
        sentinel_login,
        sample: args.sample as usize,
    };
    import(&req)
}

#[cfg(feature = "elasticache")]
fn import_managed(ctx: &Ctx, args: &Args, id: &str) -> Result<crate::ops::import::Imported, Error> {
    let req = crate::ops::import_elasticache::Request {
        env: args.env.clone(),
        service: args.service.clone().unwrap_or_default(),
        group_id: id.to_string(),
        region: args.region.clone(),
        endpoint_url: ctx.endpoint_url.clone(),
        token_given: args.auth_token_env.is_some(),
    };
    crate::ops::import_elasticache::import(&req)
}

#[cfg(not(feature = "elasticache"))]
fn import_managed(_ctx: &Ctx, _args: &Args, _id: &str) -> Result<crate::ops::import::Imported, Error> {
    Err(Error::usage("this redisctl was built without the `elasticache` feature"))
}

pub fn run(ctx: &Ctx, args: &Args) -> Result<i32, Error> {
    if !valid_env_name(&args.env) {
        return Err(Error::usage(format!(
            "`{}` is not an environment name: lower-case letters, digits, `-` and `_`",
            args.env
        )));
    }
    // What the command line gets wrong is said first (exit 64), before any file is looked at.
    for a in [&args.address, &args.sentinel].into_iter().flatten() {
        parse_address(a)?;
    }
    let dir = &ctx.project.dir;
    let base_path = dir.join(BASE_FILE);
    let env_path = ctx.project.env_file(&args.env);
    for p in [&base_path, &env_path] {
        if p.exists() && !args.force {
            return Err(Error::Refused(format!(
                "{} exists: import does not overwrite it without --force",
                p.display()
            )));
        }
    }
    // The AUTH token in use, read before anything is looked at or written.
    let token = match &args.auth_token_env {
        Some(var) => Some(Secret::new(PasswordSource::Env(var.clone()).read()?)),
        None => None,
    };
    let imported = match &args.elasticache {
        Some(id) => import_managed(ctx, args, id)?,
        None => import_self_hosted(args)?,
    };

    // The contract is checked before anything is written: in a scratch copy of the project.
    let scratch = tempfile::tempdir().map_err(|e| Error::io("cannot create a scratch directory", e))?;
    let files = [
        (PathBuf::from(BASE_FILE), imported.base.clone(), 0o644),
        (PathBuf::from("environments").join(format!("{}.yaml", args.env)), imported.overlay.clone(), 0o644),
    ];
    for (rel, text, mode) in &files {
        write_atomic(&scratch.path().join(rel), text.as_bytes(), *mode)?;
    }
    let mut sources = Sources::default();
    let loaded = match crate::targets::load(&Project::new(scratch.path()), &args.env, Secrets::FormOnly, &mut sources) {
        Ok(loaded) => loaded,
        Err(diags) => {
            ctx.print_diagnostics(&sources, &diags);
            return Err(Error::Invalid(format!(
                "the imported contract does not validate ({} error(s) above); nothing was written",
                diags.iter().filter(|d| d.is_error()).count()
            )));
        }
    };
    // What the deployment does that the readiness policy refuses: imported as it runs (the
    // contract describes the servers), listed because `apply` refuses it until fixed or waived.
    let policy = crate::policy::evaluate(&loaded, crate::units::Date::today());
    let mut decisions = imported.decisions.clone();
    for d in policy.diagnostics().filter(|d| d.is_error()) {
        decisions.push(format!(
            "policy error {}: {} (apply refuses until it is fixed or waived in `policy.waivers`)",
            d.code, d.message
        ));
    }
    for (rel, text, mode) in &files {
        write_atomic(&dir.join(rel), text.as_bytes(), *mode)?;
    }
    // The editor modelines point at the schemas: written when the project has none.
    for (rel, text) in [
        ("schemas/redisctl.schema.json", crate::contract::schema::schema_text()),
        ("schemas/redisctl.overlay.schema.json", crate::contract::schema::overlay_schema_text()),
    ] {
        if !dir.join(rel).exists() {
            write_atomic(&dir.join(rel), text.as_bytes(), 0o644)?;
        }
    }
    // Adopt what runs, as Terraform's import does: the deployment files as the servers run them,
    // recorded in the state, so that the next plan compares the contract with what runs (and
    // shows nothing) instead of planning every file as new. Nothing on the servers changes.
    let adopted =
        crate::ops::adopt::adopt(&ctx.project, &args.env, &ctx.templates()?, &imported.hashes, token.as_ref());
    println!("Imported {}.", imported.summary);
    println!("Wrote {} and {}.", base_path.display(), env_path.display());
    match adopted {
        Ok(a) => println!(
            "Adopted: {} deployment file(s) written to {} and recorded in its state, as the servers run them \
             (nothing on the servers was changed).",
            a.files,
            a.output_dir.display()
        ),
        Err(e) => decisions.push(format!(
            "the deployment files were not adopted ({e}): write them with `redisctl apply --env {} --files-only` \
             once the password variables are set",
            args.env
        )),
    }
    println!("\nTo decide before the first apply:");
    for d in &decisions {
        println!("  - {d}");
    }
    Ok(EXIT_OK)
}
