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

/// `REDISCTL_FUZZ_SECS` (else `default_secs`) and `REDISCTL_FUZZ_SEED` (else a fixed seed, so
/// that a failure replays).
pub fn budget(default_secs: u64) -> (std::time::Duration, u64) {
    let secs = std::env::var("REDISCTL_FUZZ_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(default_secs);
    let seed = std::env::var("REDISCTL_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5EED_2026);
    (std::time::Duration::from_secs(secs), seed)
}

/// The environments of the sample project and of every example that load as they are (those
/// needing unset secrets are left out) and that `keep` accepts.
pub fn environments_to_fuzz(keep: impl Fn(&redisctl::contract::Loaded) -> bool) -> Vec<(std::path::PathBuf, String)> {
    let root = super::repo_root();
    let mut projects = vec![root.clone()];
    for e in std::fs::read_dir(root.join("examples")).unwrap().flatten() {
        if e.path().join("redisctl.yaml").exists() {
            projects.push(e.path());
        }
    }
    projects.sort();
    let mut out = Vec::new();
    for p in projects {
        let project = redisctl::contract::Project::new(p.clone());
        for env in super::environments(&p) {
            let mut sources = redisctl::diagnostics::Sources::default();
            if let Ok(loaded) =
                redisctl::targets::load(&project, &env, redisctl::secrets::Secrets::Needed, &mut sources)
            {
                if keep(&loaded) {
                    out.push((p.clone(), env));
                }
            }
        }
    }
    out
}

/// One mutant: a copy of a random environment's project with its base or its overlay mutated.
pub struct Mutant {
    pub copy: super::TempProject,
    pub dir: std::path::PathBuf,
    pub env: String,
    pub file: String,
    pub text: String,
}

impl Mutant {
    pub fn new(targets: &[(std::path::PathBuf, String)], rng: &mut Rng) -> Mutant {
        let (dir, env) = targets[rng.below(targets.len())].clone();
        let copy = super::TempProject::copy_of(&dir);
        let file = if rng.below(2) == 0 { "redisctl.yaml".to_string() } else { format!("environments/{env}.yaml") };
        let text = mutate(&std::fs::read_to_string(copy.path().join(&file)).unwrap_or_default(), rng);
        copy.write(&file, &text);
        Mutant { copy, dir, env, file, text }
    }

    pub fn project(&self) -> redisctl::contract::Project {
        redisctl::contract::Project::new(self.copy.path().to_path_buf())
    }

    /// What a failure prints: enough to replay it.
    pub fn report(&self, seed: u64, run: u32, what: &str) -> String {
        format!(
            "seed {seed}, run {run}, {}/{} (env {}): {what}\n--- mutant ---\n{}",
            self.dir.display(),
            self.file,
            self.env,
            self.text
        )
    }
}
