//! `redisctl schema`: print the contract's JSON Schema (the committed
//! schemas/redisctl.schema.json), or with `--overlay` the schema of an environment overlay
//! (schemas/redisctl.overlay.schema.json).

use crate::error::Error;

#[derive(clap::Args, Debug)]
#[command(after_help = "The committed schemas/*.schema.json are this output (a test fails when they differ); editors \
                        read them through the `# yaml-language-server: $schema=...` line of each file: \
                        redisctl.yaml names redisctl.schema.json, environments/*.yaml name \
                        redisctl.overlay.schema.json (same keys, nothing required).\n\n\
                        Examples:\n  redisctl schema > schemas/redisctl.schema.json\n  \
                        redisctl schema --overlay > schemas/redisctl.overlay.schema.json\n  \
                        redisctl schema | jq '.properties | keys'")]
pub struct Args {
    /// The schema of an environment overlay: the same properties, none required.
    #[arg(long)]
    pub overlay: bool,
}

pub fn run(args: &Args) -> Result<i32, Error> {
    let text = if args.overlay {
        crate::contract::schema::overlay_schema_text()
    } else {
        crate::contract::schema::schema_text()
    };
    print!("{text}");
    Ok(super::EXIT_OK)
}
