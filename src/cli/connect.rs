//! `redisctl connect`: what an application needs to connect to an environment.

use clap::ValueEnum;

use super::{Ctx, EXIT_OK};
use crate::connect::client_config;
use crate::error::Error;
use crate::render::client_host;

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectFormat {
    Yaml,
    Json,
    Env,
    Url,
}

#[derive(clap::Args, Debug)]
#[command(after_help = "The password is never printed: the output names where it comes from.\n\
                        Examples:\n  redisctl connect --env local\n  redisctl connect --env production --format env > redis.env")]
pub struct Args {
    /// Environment to connect to.
    #[arg(long, value_name = "NAME")]
    pub env: String,
    #[arg(long, value_enum, default_value_t = ConnectFormat::Yaml)]
    pub format: ConnectFormat,
}

pub fn run(ctx: &Ctx, args: &Args) -> Result<i32, Error> {
    let loaded = ctx.load(&args.env)?;
    let d = ctx.deployment(&loaded)?;
    let mut config = client_config(&d, &|name| client_host(&d, name));
    if d.contract.target == crate::contract::model::Target::Elasticache {
        managed_endpoints(ctx, &d, &mut config)?;
    }
    match args.format {
        ConnectFormat::Yaml => print!("{}", serde_saphyr::to_string(&config).map_err(Error::msg)?),
        ConnectFormat::Json => println!("{}", serde_json::to_string_pretty(&config).map_err(Error::msg)?),
        ConnectFormat::Env => print!("{}", config.to_env()),
        ConnectFormat::Url => println!("{}", config.to_url()),
    }
    Ok(EXIT_OK)
}

/// ElastiCache endpoints come from the account: the configuration endpoint in cluster mode,
/// else the primary endpoint (and the reader endpoint); failover is the service's job.
#[cfg(feature = "elasticache")]
fn managed_endpoints(
    ctx: &Ctx,
    d: &crate::resolve::Deployment,
    config: &mut crate::connect::ClientConfig,
) -> Result<(), Error> {
    let provider = crate::providers::elasticache::ElastiCache::for_deployment(
        d,
        ctx.project.dir.clone(),
        ctx.endpoint_url.as_deref(),
    )?;
    let e = provider.endpoints()?;
    config.sentinel = None;
    if provider.cluster_mode() {
        config.mode = "cluster";
        config.endpoints = e.configuration.into_iter().collect();
    } else {
        config.mode = "managed-single-endpoint";
        config.endpoints = e.primary.into_iter().collect();
        config.reader_endpoint = e.reader;
    }
    Ok(())
}

#[cfg(not(feature = "elasticache"))]
fn managed_endpoints(
    _: &Ctx,
    _: &crate::resolve::Deployment,
    _: &mut crate::connect::ClientConfig,
) -> Result<(), Error> {
    Err(Error::msg("this redisctl was built without the `elasticache` feature"))
}
