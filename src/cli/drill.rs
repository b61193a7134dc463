//! `redisctl drill failover|restore --env NAME`.

use super::Ctx;
use crate::error::Error;

#[derive(clap::Subcommand, Debug)]
pub enum Command {}

pub fn run(_ctx: &Ctx, command: &Command) -> Result<i32, Error> {
    match *command {}
}
