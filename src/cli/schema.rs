//! `redisctl schema`: print the contract's JSON Schema (the committed schemas/redisctl.schema.json).

use crate::error::Error;

pub fn run() -> Result<i32, Error> {
    print!("{}", crate::contract::schema::schema_text());
    Ok(super::EXIT_OK)
}
