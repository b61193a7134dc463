//! The seeded mutator both fuzzers share: tests/fast/fuzz.rs (load → check → render, no
//! panic, located rejections) and tests/peers/fuzz_load.rs (accepted mutants' rendered configs
//! load in a real redis-server). A failure prints the seed, so a run replays exactly.

/// xorshift64*: small, seeded, good enough to pick mutations.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Values that have found holes before: bounds, types, quoting, injection, odd units.
pub const VALUES: &[&str] = &[
    "-1",
    "0",
    "1",
    "65535",
    "65536",
    "99999999999999999999",
    "1.5",
    "\"\"",
    "yes",
    "no",
    "null",
    "[]",
    "{}",
    "\"a\\nb\"",
    "\"a\\\"b\"",
    "'x y'",
    "300 .inf",
    "abc 1",
    "\"+@nosuchcategory\"",
    "\"~é*\"",
    "0mb",
    "1tb",
    "-5s",
    "allkeys-lru",
    "cluster",
    "sentinel",
    "kubernetes",
    "compose",
    "systemd",
    "elasticache",
    "\"7.0\"",
    "\"6.0\"",
    "\"9.9\"",
    "&a x",
    "*a",
    "!!binary aGk=",
    "~",
    "\"\\t\"",
    "{ fromEnv: X Y }",
    "[\"+@all\"]",
];

pub fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    if lines.is_empty() {
        return text.to_string();
    }
    let i = rng.below(lines.len());
    match rng.below(7) {
        0 | 1 => {
            // Replace the value of a `key: value` line (or a list item) with an interesting one.
            let v = VALUES[rng.below(VALUES.len())];
            let line = &lines[i];
            lines[i] = match line.split_once(": ") {
                Some((k, _)) => format!("{k}: {v}"),
                None if line.trim_start().starts_with("- ") => {
                    format!("{}- {v}", &line[..line.len() - line.trim_start().len()])
                }
                None => format!("{line} {v}"),
            };
        }
        2 => {
            lines.remove(i);
        }
        3 => {
            let l = lines[i].clone();
            lines.insert(i, l);
        }
        4 if i + 1 < lines.len() => lines.swap(i, i + 1),
        5 => {
            let cut = rng.below(lines[i].len() + 1);
            let cut = (0..=cut).rev().find(|c| lines[i].is_char_boundary(*c)).unwrap_or(0);
            lines[i].truncate(cut);
        }
        _ => {
            let bytes = ["\t", "\0", "é", "\u{202e}", "#", ":", "\"", "{", "[", "&", "*", "|", ">"];
            let at = rng.below(lines[i].len() + 1);
            let at = (0..=at).rev().find(|c| lines[i].is_char_boundary(*c)).unwrap_or(0);
            lines[i].insert_str(at, bytes[rng.below(bytes.len())]);
        }
    }
    lines.join("\n") + "\n"
}
