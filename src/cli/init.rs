//! `redisctl init`: scaffold a project — the base contract, a `local` overlay that runs the
//! same topology as processes on this machine, and one shared overlay for the chosen target —
//! that validates as written and whose `local` environment applies at once.

use std::path::{Path, PathBuf};

use clap::ValueEnum;

use crate::error::Error;
use crate::model::{PersistenceMode, RedisVersion, TargetKind, TopologyMode};
use crate::targets::ScaffoldInput;

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topology {
    Standalone,
    Replication,
    Sentinel,
    Cluster,
}

/// What the data is for: it decides eviction and persistence.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Rebuildable data: evict least recently used keys, nothing on disk.
    Cache,
    /// Data that must not be lost: no eviction, an append-only file.
    State,
}

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    redisctl init --project orders --service orders --topology sentinel --target kubernetes\n  \
    redisctl init --service sessions --topology replication --target elasticache --env production\n  \
    redisctl init --service orders --topology cluster --target redis-enterprise --redis-version 7.2\n  \
    cd orders && redisctl validate --all && redisctl apply --env local --auto-approve\n\n\
    Writes redisctl.yaml, environments/local.yaml, environments/<env>.yaml, development-only passwords in \
    secrets/local/ (mode 0600), the JSON Schemas of the contract and of an overlay in schemas/ (for the editor modelines) and a \
    .gitignore; refuses when the directory already holds a redisctl.yaml, or when the shared target cannot run the \
    topology, workload or version asked for (nothing is written then). The shared environment reads its \
    passwords from variables (<SERVICE>_REDIS_*) and carries placeholders (hosts, subnets) to replace.")]
pub struct Args {
    /// The service's name: the key prefix, the user names and the resource names derive from it.
    #[arg(long, value_parser = service_name)]
    pub service: String,
    #[arg(long, value_enum, default_value_t = Topology::Sentinel)]
    pub topology: Topology,
    /// Where the shared environment runs (every target but `process`, which `local` is).
    #[arg(long, default_value = "kubernetes", value_parser = shared_target())]
    pub target: TargetKind,
    /// The shared environment's name.
    #[arg(long, default_value = "production", value_parser = env_name)]
    pub env: String,
    #[arg(long, value_enum, default_value_t = Workload::Cache)]
    pub workload: Workload,
    /// The Redis version every environment runs (`local` needs a redis-server of it).
    #[arg(long, default_value = "7.0", value_parser = redis_version())]
    pub redis_version: RedisVersion,
    /// First local port: nodes from here, Sentinels from here + 10000.
    #[arg(long, default_value_t = 16379, value_parser = clap::value_parser!(u16).range(1024..55000))]
    pub port: u16,
}

fn service_name(s: &str) -> Result<String, String> {
    let ok = (1..=40).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.ends_with('-');
    ok.then(|| s.to_string())
        .ok_or_else(|| "lowercase letters, digits and `-`, starting with a letter (at most 40)".into())
}

/// The targets a shared environment can have: every one but `process`, by its contract name.
fn shared_target() -> impl clap::builder::TypedValueParser<Value = TargetKind> {
    use clap::builder::TypedValueParser;
    let names: Vec<&'static str> =
        TargetKind::ALL.iter().filter(|k| **k != TargetKind::Process).map(|k| k.as_str()).collect();
    clap::builder::PossibleValuesParser::new(names)
        .map(|name| *TargetKind::ALL.iter().find(|k| k.as_str() == name).expect("a listed target name"))
}

fn redis_version() -> impl clap::builder::TypedValueParser<Value = RedisVersion> {
    use clap::builder::TypedValueParser;
    let names: Vec<&'static str> = RedisVersion::ALL.iter().map(|v| v.as_str()).collect();
    clap::builder::PossibleValuesParser::new(names)
        .map(|name| *RedisVersion::ALL.iter().find(|v| v.as_str() == name).expect("a listed version"))
}

fn env_name(s: &str) -> Result<String, String> {
    match service_name(s) {
        Ok(name) if name != "local" => Ok(name),
        Ok(_) => Err("`local` is the environment init writes for this machine; name the shared one".into()),
        Err(e) => Err(e),
    }
}

pub fn run(project: &Path, args: &Args) -> Result<i32, Error> {
    if project.join("redisctl.yaml").exists() {
        return Err(Error::refused(format!(
            "{} already holds a redisctl.yaml: init writes new projects only",
            project.display()
        )));
    }
    let files = scaffold(args)?;
    for (rel, content, mode) in &files {
        crate::util::fs::write_atomic(&project.join(rel), content.as_bytes(), *mode)?;
    }
    println!("Wrote a `{}` project to {}:", args.service, project.display());
    for (rel, _, _) in &files {
        println!("  {}", rel.display());
    }
    let at = if project == Path::new(".") { String::new() } else { format!("--project {} ", project.display()) };
    println!(
        "\nNext:\n  redisctl {at}validate --all\n  redisctl {at}apply --env local --auto-approve   # {} on this machine\n  \
         redisctl {at}plan --env {}   # replace the placeholders in environments/{}.yaml first",
        describe(args.topology),
        args.env,
        args.env
    );
    Ok(super::EXIT_OK)
}

impl Topology {
    fn mode(self) -> TopologyMode {
        match self {
            Topology::Standalone => TopologyMode::Standalone,
            Topology::Replication => TopologyMode::Replication,
            Topology::Sentinel => TopologyMode::Sentinel,
            Topology::Cluster => TopologyMode::Cluster,
        }
    }
}

fn describe(t: Topology) -> &'static str {
    match t {
        Topology::Standalone => "one redis-server",
        Topology::Replication => "a primary and a replica",
        Topology::Sentinel => "a primary, a replica and 3 Sentinels",
        Topology::Cluster => "a 3-shard cluster with a replica each",
    }
}

/// The project's files: (path, content, mode).
fn scaffold(a: &Args) -> Result<Vec<(PathBuf, String, u32)>, Error> {
    let service = &a.service;
    let replicas = a.topology != Topology::Standalone;
    let sentinel = a.topology == Topology::Sentinel;
    let cluster = a.topology == Topology::Cluster;
    let (policy, persistence) = match a.workload {
        Workload::Cache => ("allkeys-lru", PersistenceMode::None),
        Workload::State => ("noeviction", PersistenceMode::Aof),
    };
    let input = ScaffoldInput { service, env: &a.env, mode: a.topology.mode(), persistence, version: a.redis_version };
    let stem = input.variable_stem();
    let scaffolded = crate::targets::of(a.target).scaffold(&input).map_err(Error::usage)?;
    let workload = format!("{:?}", a.workload).to_lowercase();

    // Users: the application's, then those redisctl and the servers log in as.
    let mut users: Vec<(&str, String, &str)> = Vec::new();
    if scaffolded.application_user {
        users.push(("app", format!("{service}-app"), ""));
    }
    if replicas {
        users.push(("replicator", "replicator".into(), "replication"));
    }
    if sentinel {
        users.push(("sentinel", "sentinel".into(), "sentinel"));
    }
    users.push(("ops", "ops".into(), "operator"));
    // The exporters of `observability` log in as it (least privilege: no keys, no CONFIG).
    users.push(("metrics", "metrics".into(), "exporter"));
    let app_commands = if cluster {
        r#"["+@read", "+@write", "-@dangerous", "+cluster|slots", "+cluster|nodes", "+cluster|shards"]"#
    } else {
        r#"["+@read", "+@write", "-@dangerous"]"#
    };
    let user_list = |password: &dyn Fn(&str) -> String| {
        let mut s = String::from("acl:\n  users:\n");
        for (key, name, role) in &users {
            s.push_str(&format!("    - name: {name}\n"));
            if role.is_empty() {
                s.push_str(&format!("      keys: [\"{service}:*\"]\n      commands: {app_commands}\n"));
            } else {
                s.push_str(&format!("      role: {role}\n"));
            }
            s.push_str(&format!("      password: {}\n", password(key)));
        }
        s
    };

    let base = format!(
        "# yaml-language-server: $schema=schemas/redisctl.schema.json\n\
         # The {service} service's Redis contract, shared by every environment. environments/<env>.yaml\n\
         # holds only what differs (maps merge, lists replace, `null` removes a key).\n\
         apiVersion: redisctl/v1\n\
         service: {service}\n\
         redis:\n  version: \"{version}\"\n  workload: {workload}\n  maxmemoryPolicy: {policy}\n  persistence:\n    mode: {persistence}\n{idle}\
         keyspace:\n  prefix: {service}\n{cluster_safe}\
         {users}\
         resources:\n  maxmemory: 256mb\n\
         # SLOs and alerts, defaulted from the workload: every environment renders exporters,\n\
         # Prometheus rules and Grafana dashboards from them.\n\
         observability: {{}}\n",
        persistence = persistence.as_str(),
        idle = if scaffolded.idle_directives { "  config:\n    timeout: 300\n    tcp-keepalive: 60\n" } else { "" },
        version = a.redis_version.as_str(),
        cluster_safe = if cluster { "  clusterSafe: true\n" } else { "" },
        users = user_list(&|key| {
            let var = match key {
                "app" => format!("{stem}_PASSWORD"),
                other => format!("{stem}_{}_PASSWORD", other.to_uppercase()),
            };
            format!("{{ fromEnv: {var} }}")
        }),
    );

    let topology = |replicas: u32| match a.topology {
        Topology::Standalone => "topology:\n  mode: standalone\n".to_string(),
        Topology::Replication => format!("topology:\n  mode: replication\n  replicas: {replicas}\n"),
        Topology::Sentinel => format!("topology:\n  mode: sentinel\n  replicas: {replicas}\n  sentinels: 3\n"),
        Topology::Cluster => "topology:\n  mode: cluster\n  shards: 3\n  replicasPerShard: 1\n".to_string(),
    };
    let local = format!(
        "# yaml-language-server: $schema=../schemas/redisctl.overlay.schema.json\n\
         # This machine: the same topology as {env}, as redis-server processes on 127.0.0.1.\n\
         # Passwords come from development-only files in secrets/local/ (never use them elsewhere).\n\
         target: process\n{topology}ports:\n  redis: {port}\n{sentinel_port}resources:\n  maxmemory: 64mb\n{users}",
        env = a.env,
        topology = topology(1),
        port = a.port,
        sentinel_port = if sentinel { format!("  sentinel: {}\n", a.port + 10000) } else { String::new() },
        users = user_list(&|key| format!("{{ fromFile: secrets/local/{key}.password }}")),
    );

    let shared = format!(
        "# yaml-language-server: $schema=../schemas/redisctl.overlay.schema.json\n\
         # {env}: replace the placeholders (marked TODO) before the first plan.\n\
         target: {target}\n{topology}{settings}",
        settings = scaffolded.settings,
        env = a.env,
        target = a.target.as_str(),
        // One replica more than on this machine, unless the target keeps fewer.
        topology = topology(scaffolded.replicas.unwrap_or(2)),
    );

    let mut files = vec![
        (PathBuf::from("redisctl.yaml"), base, 0o644),
        (PathBuf::from("environments/local.yaml"), local, 0o644),
        (PathBuf::from(format!("environments/{}.yaml", a.env)), shared, 0o644),
        (PathBuf::from("schemas/redisctl.schema.json"), crate::contract::schema::schema_text(), 0o644),
        (PathBuf::from("schemas/redisctl.overlay.schema.json"), crate::contract::schema::overlay_schema_text(), 0o644),
        (PathBuf::from(".gitignore"), "/.redisctl/\n".into(), 0o644),
    ];
    for (key, _, _) in &users {
        files.push((PathBuf::from(format!("secrets/local/{key}.password")), format!("{}\n", random_hex()?), 0o600));
    }
    Ok(files)
}

/// 32 hex digits from the kernel's generator: a development password nobody chose.
fn random_hex() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .map_err(|e| Error::io("cannot read /dev/urandom for the development passwords", e))?;
    Ok(hex::encode(bytes))
}
