//! `redisctl connect`: what an application needs to connect to an environment.

use clap::ValueEnum;

use super::{Ctx, EXIT_OK};
use crate::connect::client_config;
use crate::environment::Environment;
use crate::error::Error;
use crate::secrets::Secrets;
use crate::targets::endpoint;

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
    let mut environment = Environment::unrendered(&ctx.project, ctx.load(&args.env, Secrets::FormOnly)?)?;
    environment.endpoint_url = ctx.endpoint_url.clone();
    let d = &environment.deployment;
    let mut config = client_config(d, &|name| endpoint(d, name));
    crate::targets::of(d.contract.target).managed_endpoints(&environment.opened(), &mut config)?;
    match args.format {
        ConnectFormat::Yaml => print!("{}", serde_saphyr::to_string(&config).map_err(Error::msg)?),
        ConnectFormat::Json => println!("{}", serde_json::to_string_pretty(&config).map_err(Error::msg)?),
        ConnectFormat::Env => print!("{}", config.to_env()),
        ConnectFormat::Url => println!("{}", config.to_url()),
    }
    Ok(EXIT_OK)
}
