//! The plan model and the provider interface.
//!
//! A `Plan` is the list of `ResourceChange`s that take what exists to what the contract
//! wants. Providers (files, local processes, a live Redis, a cloud API) each observe their
//! own resources and propose changes; the engine (`engine.rs`) collects them, presents them,
//! saves them, and hands each change back to its provider to apply. The engine knows
//! nothing about what a resource is; a provider knows nothing about other providers.

pub mod address;
pub mod engine;
pub mod lock;
pub mod state;

pub use address::Address;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::policy::PolicyReport;
use state::State;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    NoOp,
    Create,
    Update,
    Delete,
    /// Delete then create (the resource cannot be changed in place).
    Replace,
}

impl Action {
    /// Terraform's list form, used in the JSON output.
    pub fn as_list(self) -> Vec<&'static str> {
        match self {
            Action::NoOp => vec!["no-op"],
            Action::Create => vec!["create"],
            Action::Update => vec!["update"],
            Action::Delete => vec!["delete"],
            Action::Replace => vec!["delete", "create"],
        }
    }

    /// Terraform's symbol for the text output.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::NoOp => " ",
            Action::Create => "+",
            Action::Update => "~",
            Action::Delete => "-",
            Action::Replace => "-/+",
        }
    }

    pub fn verb(self) -> &'static str {
        match self {
            Action::NoOp => "unchanged",
            Action::Create => "created",
            Action::Update => "updated in-place",
            Action::Delete => "destroyed",
            Action::Replace => "replaced",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flags {
    /// The resource was changed outside redisctl since the last apply.
    #[serde(default)]
    pub drift: bool,
    /// Applying the change deletes data; refused without `--allow-destroy`.
    #[serde(default)]
    pub destructive: bool,
    /// The change only takes effect after a restart; applied only with `--allow-restart`.
    #[serde(default)]
    pub restart_required: bool,
    /// The change is applied to a running server without a restart.
    #[serde(default)]
    pub live: bool,
    /// The apply flag this change waits for: without it, apply leaves it planned on purpose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waits_for: Option<WaitsFor>,
}

/// An apply flag a change waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WaitsFor {
    /// The old passwords of a rotation stay valid until `--finish-rotation`.
    #[serde(rename = "--finish-rotation")]
    FinishRotation,
}

impl WaitsFor {
    /// Whether `opts` gives the flag.
    pub fn given(self, opts: &ApplyOptions) -> bool {
        match self {
            WaitsFor::FinishRotation => opts.finish_rotation,
        }
    }

    pub fn flag(self) -> &'static str {
        match self {
            WaitsFor::FinishRotation => "--finish-rotation",
        }
    }
}

/// A value shown in a plan: already redacted by the provider that produced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Shown {
    Text(String),
    Value(serde_json::Value),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceChange {
    /// Stable address, e.g. `file:node-0/redis.conf`, `redis-config:node-0/maxmemory`.
    pub address: Address,
    /// The provider that owns the resource (`file`, `process`, `redis`, ...).
    pub provider: String,
    pub action: Action,
    /// Why the action, e.g. `forces replacement`, `changed outside redisctl`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default)]
    pub flags: Flags,
    /// Redacted before/after summaries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Shown>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Shown>,
    /// Unified diff of the redacted contents, when the resource is text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// What the change does, as a sentence for people (`starts redis-server on
    /// 127.0.0.1:6379`): the text and markdown presenters show it instead of before → after,
    /// which stay the data for machines (the JSON plan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// How many values the provider redacted in before/after/diff.
    #[serde(default)]
    pub redacted: usize,
    /// What the provider needs to verify at apply time that it applies exactly what was
    /// planned (e.g. the SHA-256 of the new content). Never a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<String>,
}

impl ResourceChange {
    pub fn new(provider: &str, address: Address, action: Action) -> Self {
        ResourceChange {
            address,
            provider: provider.to_string(),
            action,
            reason: None,
            flags: Flags::default(),
            before: None,
            after: None,
            diff: None,
            summary: None,
            redacted: 0,
            expect: None,
        }
    }

    pub fn is_change(&self) -> bool {
        self.action != Action::NoOp
    }
}

/// What one provider saw and proposes.
#[derive(Debug, Default)]
pub struct ProviderPlan {
    pub changes: Vec<ResourceChange>,
    /// Fingerprint of everything observed (a saved plan is stale when it differs).
    pub observed: String,
}

/// What a plan or apply looks at besides the rendered files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Only the rendered files (`--files-only`).
    FilesOnly,
    /// What the target manages: for `process`, the local stack and its live settings.
    #[default]
    Target,
    /// The target's files plus the live settings of its running nodes (`--live`), for
    /// file-rendering targets whose nodes redisctl can reach (systemd).
    Live,
}

impl Scope {
    pub fn from_flags(files_only: bool, live: bool) -> Scope {
        match (files_only, live) {
            (true, _) => Scope::FilesOnly,
            (false, true) => Scope::Live,
            (false, false) => Scope::Target,
        }
    }
}

/// Options that decide what `apply` may do.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    pub allow_destroy: bool,
    pub allow_restart: bool,
    /// Remove the old passwords of users whose password is being rotated.
    pub finish_rotation: bool,
    /// Take a snapshot before a change that can lose data (managed targets).
    pub snapshot_first: bool,
    /// How long one step of a cloud change may take (managed targets; default: the provider's).
    pub wait_timeout: Option<std::time::Duration>,
}

/// The result of applying one change.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// Not applied, with the reason shown to the user (e.g. needs `--allow-restart`).
    Skipped(String),
}

/// A kind of resource redisctl manages.
pub trait Provider {
    /// Name used in addresses and the state file.
    fn name(&self) -> &'static str;

    /// Observe what exists and propose changes. `state` holds what this provider recorded
    /// at the last apply (its own entries only matter to it).
    fn plan(&mut self, state: &State) -> Result<ProviderPlan, Error>;

    /// Apply one change of this provider's plan, recording what it did in `state`.
    fn apply(&mut self, change: &ResourceChange, state: &mut State, opts: &ApplyOptions) -> Result<Outcome, Error>;

    /// Apply a run of this provider's changes that follow each other in the plan as one
    /// step, when the provider can do better than one after another (the files provider
    /// writes them with two filesystem flushes in all). `None`: it cannot; the engine applies
    /// them one by one. The engine saves the state after the batch.
    fn apply_batch(
        &mut self,
        _changes: &[&ResourceChange],
        _state: &mut State,
        _opts: &ApplyOptions,
    ) -> Option<Result<(), Error>> {
        None
    }

    /// Called once after every change of the plan was applied (e.g. to record no-op
    /// resources in the state, or wait for readiness).
    fn finish(&mut self, _state: &mut State) -> Result<(), Error> {
        Ok(())
    }
}

/// A whole plan for one environment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub environment: String,
    pub target: String,
    /// SHA-256 of the effective (merged) contract.
    pub contract_fingerprint: String,
    /// Fingerprint of everything observed by every provider.
    pub observed_fingerprint: String,
    pub changes: Vec<ResourceChange>,
    /// Readiness policy findings and waivers of the environment (set by the CLI; the engine
    /// knows nothing about policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyReport>,
    /// What `apply --exec` runs after writing; `None` when the plan was made without `--exec`
    /// (then nothing runs). Saved with the plan, and compared when a saved plan is applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecPlan>,
}

/// The commands of `apply --exec`, in the order they run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecPlan {
    /// Run on this machine, one after the other, stopping at the first failure.
    pub commands: Vec<ExecCommand>,
    /// Commands for other machines (systemd hosts that are not this one): shown, never run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub elsewhere: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecCommand {
    pub argv: Vec<String>,
    /// What changed that needs this command.
    pub why: String,
}

impl ExecCommand {
    /// The command as a shell would show it (for plans and messages; it is run from `argv`).
    pub fn display(&self) -> String {
        self.argv.iter().map(|a| crate::util::text::sh_quote(a)).collect::<Vec<_>>().join(" ")
    }
}

/// A command to run after the files are written (`apply --exec`), shown in plans first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostApply {
    /// Host the command runs on (systemd: the VM of the node), `None` for where redisctl runs.
    pub host: Option<String>,
    pub argv: Vec<String>,
    /// What changed that needs the command (shown in the plan).
    pub why: String,
}

/// A rendered file a plan creates, updates or deletes: what decides the commands to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    /// `/`-separated path inside the output directory.
    pub path: String,
    pub action: Action,
    /// The file's content on disk when the plan was made, for an update (what the commands
    /// compare the rendered file with: which compose services changed).
    pub before: Option<String>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
}

impl Summary {
    pub fn count(&mut self, action: Action) {
        match action {
            Action::Create => self.add += 1,
            Action::Update => self.change += 1,
            Action::Delete => self.destroy += 1,
            Action::Replace => {
                self.add += 1;
                self.destroy += 1;
            }
            Action::NoOp => {}
        }
    }
}

impl Plan {
    /// A plan of `changes`, before fingerprints, policy or `--exec` commands are attached.
    pub fn new(environment: &str, target: &str, changes: Vec<ResourceChange>) -> Plan {
        Plan {
            environment: environment.into(),
            target: target.into(),
            contract_fingerprint: String::new(),
            observed_fingerprint: String::new(),
            changes,
            policy: None,
            exec: None,
        }
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            s.count(c.action);
        }
        s
    }

    /// Resource changes, or commands still to run (`--exec`, e.g. left over from a failed run).
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(ResourceChange::is_change) || self.exec_commands().next().is_some()
    }

    pub fn exec_commands(&self) -> impl Iterator<Item = &ExecCommand> {
        self.exec.iter().flat_map(|e| e.commands.iter())
    }

    pub fn drift(&self) -> impl Iterator<Item = &ResourceChange> {
        self.changes.iter().filter(|c| c.flags.drift)
    }

    pub fn redacted(&self) -> usize {
        self.changes.iter().map(|c| c.redacted).sum()
    }
}
