//! Loading a project: read the base contract and one environment overlay, merge them,
//! check the result against the schema and Redis semantics, and hand back a typed contract.
//!
//! A project directory holds `redisctl.yaml` (shared by every environment) and
//! `environments/<env>.yaml` (only what differs). Every problem found on the way is a
//! `Diagnostic` pointing at the file, line and column it comes from.

pub mod checks;
mod known_valid;
pub mod merge;
pub mod schema;
pub mod yaml;

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::diagnostics::{has_errors, Diagnostic, Sources, Span};
use crate::model::Contract;
use crate::secrets::Secrets;
use merge::SpanIndex;

pub const BASE_FILE: &str = "redisctl.yaml";
pub const ENV_DIR: &str = "environments";

/// A project directory on disk.
#[derive(Debug, Clone)]
pub struct Project {
    pub dir: PathBuf,
}

/// One environment's contract, checked.
#[derive(Debug)]
pub struct Loaded {
    pub env: String,
    pub contract: Contract,
    /// The merged document, as JSON: what parity and fingerprints compare.
    pub doc: serde_json::Value,
    pub index: SpanIndex,
    /// Warnings only: a `Loaded` exists only when there were no errors.
    pub warnings: Vec<Diagnostic>,
    /// Source files, relative to the project directory (for generated-file headers).
    pub files: Vec<String>,
    /// SHA-256 of the merged document: changes whenever the effective contract changes.
    pub fingerprint: String,
    /// Whether the command that loaded it reads secret values (`resolve` follows it).
    pub secrets: Secrets,
}

pub fn valid_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.len() <= 63
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

impl Project {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Project { dir: dir.into() }
    }

    /// Path shown to users: relative to the current directory when the project is `.`.
    fn display(&self, rel: &str) -> String {
        let p = self.dir.join(rel);
        let s = p.to_string_lossy();
        s.strip_prefix("./").unwrap_or(&s).to_string()
    }

    pub fn env_file(&self, env: &str) -> PathBuf {
        self.dir.join(ENV_DIR).join(format!("{env}.yaml"))
    }

    /// The environments of the project: `environments/*.yaml`, sorted.
    pub fn environments(&self) -> Result<Vec<String>, String> {
        let dir = self.dir.join(ENV_DIR);
        let entries = std::fs::read_dir(&dir).map_err(|e| {
            format!(
                "cannot read {}: {e} (is `{}` a redisctl project? use --project DIR)",
                dir.display(),
                self.dir.display()
            )
        })?;
        let mut envs: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".yaml")).map(String::from))
            .filter(|n| valid_env_name(n))
            .collect();
        envs.sort();
        Ok(envs)
    }

    /// Load and check one environment with the checks every target shares, reading its secrets
    /// (`Secrets::Needed`). `targets::load` adds the environment's target's own checks. On
    /// failure, the diagnostics.
    pub fn load(&self, env: &str, sources: &mut Sources) -> Result<Loaded, Vec<Diagnostic>> {
        self.load_with(env, sources, Secrets::Needed, &|_, _| Vec::new())
    }

    /// `load`, with `more` checks run beside the shared semantic checks (so that one run
    /// reports both), and secret values read or not as `secrets` says.
    pub fn load_with(
        &self,
        env: &str,
        sources: &mut Sources,
        secrets: Secrets,
        more: &dyn Fn(&Contract, &SpanIndex) -> Vec<Diagnostic>,
    ) -> Result<Loaded, Vec<Diagnostic>> {
        if !valid_env_name(env) {
            return Err(vec![Diagnostic::error("RCTL005", format!("`{env}` is not a valid environment name"))
                .hint("environment names use lowercase letters, digits, `-` and `_`")]);
        }
        let env_rel = format!("{ENV_DIR}/{env}.yaml");
        if !self.dir.join(&env_rel).exists() {
            let known = self.environments().unwrap_or_default();
            let mut d = Diagnostic::error(
                "RCTL005",
                format!("no environment `{env}`: {} does not exist", self.display(&env_rel)),
            );
            // A near miss (`stagign`), else the one environment the name begins (`prod`).
            let mut starting = known.iter().filter(|k| k.starts_with(env));
            let prefix = match (starting.next(), starting.next()) {
                (Some(only), None) => Some(only.clone()),
                _ => None,
            };
            let suggestion =
                crate::util::suggest::did_you_mean(env, known.iter().map(String::as_str)).map(String::from).or(prefix);
            d = match suggestion {
                Some(s) => d.hint(format!("did you mean `{s}`?")),
                None if known.is_empty() => {
                    d.hint(format!("create {} or point --project at a redisctl project", self.display(&env_rel)))
                }
                None => d.hint(format!("known environments: {}", known.join(", "))),
            };
            return Err(vec![d]);
        }

        let mut diags = Vec::new();
        let base = self.parse_file(BASE_FILE, sources).map_err(|d| diags.extend(d));
        let overlay = self.parse_file(&env_rel, sources).map_err(|d| diags.extend(d));
        let (Ok(base), Ok(overlay)) = (base, overlay) else {
            return Err(diags);
        };

        let mut inline_secrets = Vec::new();
        checks::inline_secret_spans(&base, &mut inline_secrets);
        checks::inline_secret_spans(&overlay, &mut inline_secrets);
        inline_secrets.into_iter().for_each(|span| sources.mask(span));

        let merged = merge::merge(base, overlay);
        let mut index = SpanIndex::default();
        let doc = merge::to_json(&merged, &mut index);

        // Control characters first: an injected newline is a security problem, whatever else is wrong.
        diags.extend(checks::control_characters(&doc, &index));
        diags.extend(schema::check(&doc, &index));
        if has_errors(&diags) {
            return Err(diags);
        }
        let contract: Contract = match serde_path_to_error::deserialize(&doc) {
            Ok(c) => c,
            Err(e) => {
                let pointer = format!("/{}", e.path().to_string().replace('.', "/"));
                let span: Option<Span> = index.value(&pointer);
                let inner = e.into_inner().to_string();
                diags.push(
                    Diagnostic::error("RCTL010", format!("{}: {inner}", schema::display_path(&pointer))).at(span),
                );
                return Err(diags);
            }
        };
        diags.extend(checks::check(&contract, &doc, &index, &self.dir, secrets));
        diags.extend(more(&contract, &index));
        if has_errors(&diags) {
            return Err(diags);
        }
        let fingerprint = hex::encode(Sha256::digest(doc.to_string().as_bytes()));
        Ok(Loaded {
            env: env.to_string(),
            contract,
            doc,
            index,
            warnings: diags,
            files: vec![BASE_FILE.into(), env_rel],
            fingerprint,
            secrets,
        })
    }

    fn parse_file(&self, rel: &str, sources: &mut Sources) -> Result<yaml::Node, Vec<Diagnostic>> {
        let path = self.dir.join(rel);
        let name = self.display(rel);
        let too_big = |len: u64, sources: &mut Sources| {
            // The text is not read, but the diagnostic still names the file (`file:1:1`), so
            // JSON consumers and editors know which file to look at.
            let file = sources.add(name.clone(), String::new());
            vec![Diagnostic::error(
                "RCTL004",
                format!("{name} is {len} bytes; contract files are limited to {} bytes", yaml::MAX_FILE_BYTES),
            )
            .at(Some(Span { file, start: 0, end: 0 }))
            .hint("a contract is a few KiB of YAML; check that this is the right file")]
        };
        let meta = std::fs::metadata(&path)
            .map_err(|e| vec![Diagnostic::error("RCTL004", format!("cannot read {name}: {e}"))])?;
        if meta.len() > yaml::MAX_FILE_BYTES as u64 {
            return Err(too_big(meta.len(), sources));
        }
        let bytes =
            std::fs::read(&path).map_err(|e| vec![Diagnostic::error("RCTL004", format!("cannot read {name}: {e}"))])?;
        if bytes.len() > yaml::MAX_FILE_BYTES {
            return Err(too_big(bytes.len() as u64, sources));
        }
        match String::from_utf8(bytes) {
            Ok(text) => {
                let file = sources.add(name, text);
                let text = sources.text(file).to_string();
                yaml::parse(&text, file)
            }
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let file = sources.add(name.clone(), String::from_utf8_lossy(e.as_bytes()).into_owned());
                Err(vec![Diagnostic::error("RCTL004", format!("{name} is not valid UTF-8"))
                    .at(Some(Span { file, start: at, end: at + 1 }))
                    .hint("save the file as UTF-8")])
            }
        }
    }
}
