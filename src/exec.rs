//! `--exec`: the commands a target needs after its files were written (systemctl, docker
//! compose, kubectl), chosen from the plan's file changes, shown in the plan, and run by
//! `apply --exec` in order on this machine.
//!
//! Commands still owed when one fails are kept in the state (`exec:pending`), so that the next
//! `apply --exec` runs them even though the files no longer change.

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::process::{Command, Stdio};

use crate::error::Error;
use crate::plan::state::State;
use crate::plan::{Action, Address, Changed, ExecCommand, ExecPlan, Plan};
use crate::providers::files;
use crate::redact::redact_text;
use crate::resolve::Deployment;
use crate::secrets::REDACTED;

/// State address of the commands an earlier `apply --exec` did not get to run.
fn pending() -> Address {
    Address::new("exec", "pending")
}

/// The commands `apply --exec` runs for `plan`: those still owed by an earlier run first, then
/// what the file changes need. Commands for another machine (a systemd host that is not this
/// one) are listed in `elsewhere` and never run. `None` when the target has no such commands.
pub fn plan_exec(d: &Deployment, dir: &std::path::Path, plan: &Plan, state: &State) -> Result<Option<ExecPlan>, Error> {
    let target = crate::targets::of(d.contract.target);
    let mut exec = ExecPlan::default();
    if let Some(pending) = state.record::<Vec<ExecCommand>>(&pending())? {
        for c in pending {
            let why = format!("still to run: an earlier `apply --exec` stopped before it ({})", c.why);
            exec.commands.push(ExecCommand { why, ..c });
        }
    }
    let changed: Vec<Changed> = plan
        .changes
        .iter()
        .filter(|c| c.provider == files::NAME && c.is_change())
        .map(|c| {
            let path = c.address.path().to_string();
            // Read before apply writes anything: plans, and apply before its first write, come here.
            let before = (c.action != Action::Create && c.action != Action::Delete)
                .then(|| std::fs::read_to_string(dir.join(&path)).ok())
                .flatten();
            Changed { path, action: c.action, before }
        })
        .collect();
    let Some(commands) = target.post_apply_commands(d, dir, &changed) else { return Ok(None) };
    for p in commands {
        let command = ExecCommand { argv: p.argv, why: p.why };
        match p.host {
            Some(host) if !is_this_machine(&host) => exec.elsewhere.push(format!("on {host}: {}", command.display())),
            _ if exec.commands.iter().any(|c| c.argv == command.argv) => {}
            _ => exec.commands.push(command),
        }
    }
    Ok(Some(exec))
}

/// A host is this machine when one of its addresses can be bound here (loopback, or an
/// address of a local interface); names are resolved first.
pub fn is_this_machine(host: &str) -> bool {
    let Ok(addrs) = (host, 0).to_socket_addrs() else {
        return false;
    };
    addrs.into_iter().any(|a| UdpSocket::bind(SocketAddr::new(a.ip(), 0)).is_ok())
}

/// Hide secret values and password hashes in a command's output.
fn redact(text: &str, secrets: &[&str]) -> String {
    let mut text = text.to_string();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        text = text.replace(s, REDACTED);
    }
    redact_text("", &text).0
}

/// Run the commands in order, stopping at the first failure (its exit status and redacted
/// stderr in the error). What did not run stays owed in the state.
pub fn run(exec: &ExecPlan, state: &mut State, secrets: &[&str]) -> Result<(), Error> {
    if exec.commands.is_empty() {
        return Ok(());
    }
    state.put(&pending(), &exec.commands)?;
    state.save()?;
    println!("\nRunning {} command(s) (--exec):", exec.commands.len());
    for (i, c) in exec.commands.iter().enumerate() {
        println!("$ {}", c.display());
        let owed = |state: &mut State| -> Result<String, Error> {
            state.put(&pending(), &exec.commands[i..])?;
            state.save()?;
            let rest: Vec<String> = exec.commands[i..].iter().map(|c| format!("  {}", c.display())).collect();
            Ok(format!("The files were written. Not run yet (the next `apply --exec` runs them):\n{}", rest.join("\n")))
        };
        let output = match Command::new(&c.argv[0]).args(&c.argv[1..]).stdin(Stdio::null()).output() {
            Ok(o) => o,
            Err(e) => {
                let rest = owed(state)?;
                return Err(Error::msg(format!("cannot run `{}`: {e}\n{rest}", c.display())));
            }
        };
        print!("{}", redact(&String::from_utf8_lossy(&output.stdout), secrets));
        if !output.status.success() {
            let status = match output.status.code() {
                Some(code) => format!("exit status {code}"),
                None => "killed by a signal".to_string(),
            };
            let stderr = redact(String::from_utf8_lossy(&output.stderr).trim_end(), secrets);
            let rest = owed(state)?;
            return Err(Error::msg(format!("`{}` failed ({status}):\n{stderr}\n{rest}", c.display())));
        }
        eprint!("{}", redact(&String::from_utf8_lossy(&output.stderr), secrets));
    }
    state.remove(&pending());
    state.save()
}
