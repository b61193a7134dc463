//! What an ACL user's command rules allow, for the commands the policy cares about.
//!
//! Rules are evaluated the way Redis does: left to right, each `+`/`-` rule switching the
//! commands it names (or the commands of the `@category` it names) on or off, starting from
//! nothing allowed. A subcommand rule (`+config|get`) allows part of a command: it counts as
//! allowing it, since the policy asks whether the user can reach the command at all.

/// Commands that wipe, enumerate or reconfigure the whole server, with their ACL categories
/// (Redis 6.2–8.2 `COMMAND INFO`). Applications must not be able to run them.
pub const DANGEROUS: &[(&str, &[&str])] = &[
    ("flushall", &["keyspace", "write", "slow", "dangerous"]),
    ("flushdb", &["keyspace", "write", "slow", "dangerous"]),
    ("keys", &["keyspace", "read", "slow", "dangerous"]),
    ("config", &["admin", "slow", "dangerous"]),
    ("debug", &["admin", "slow", "dangerous"]),
];

/// Whether `rules` allow `command` (with the given categories); `Some(i)`: allowed, and
/// `rules[i]` is the rule that allowed it last.
pub fn allows(rules: &[String], command: &str, categories: &[&str]) -> Option<usize> {
    let mut allowed = None;
    for (i, rule) in rules.iter().enumerate() {
        let rule = rule.to_ascii_lowercase();
        let (on, name) = match rule.as_str() {
            "allcommands" => (true, "@all"),
            "nocommands" => (false, "@all"),
            r => match r.split_at_checked(1) {
                Some(("+", name)) => (true, name),
                Some(("-", name)) => (false, name),
                _ => continue,
            },
        };
        let matches = match name.strip_prefix('@') {
            Some(category) => category == "all" || categories.contains(&category),
            // `+config|get` allows part of CONFIG; `-config|set` denies only part of it.
            None => match name.split_once('|') {
                Some((cmd, _)) => cmd == command && on,
                None => name == command,
            },
        };
        if matches {
            allowed = on.then_some(i);
        }
    }
    allowed
}

/// The dangerous commands `rules` allow, with the index of the rule that allows each.
pub fn dangerous_allowed(rules: &[String]) -> Vec<(&'static str, usize)> {
    DANGEROUS.iter().filter_map(|(cmd, cats)| allows(rules, cmd, cats).map(|i| (*cmd, i))).collect()
}

/// Rules that grant every command.
pub fn grants_all(rule: &str) -> bool {
    rule.eq_ignore_ascii_case("+@all") || rule.eq_ignore_ascii_case("allcommands")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(r: &[&str]) -> Vec<String> {
        r.iter().map(|s| s.to_string()).collect()
    }

    fn denied(r: &[&str]) -> Vec<&'static str> {
        dangerous_allowed(&rules(r)).into_iter().map(|(c, _)| c).collect()
    }

    #[test]
    fn read_write_without_dangerous_allows_flush_and_keys() {
        assert_eq!(denied(&["+@read", "+@write"]), vec!["flushall", "flushdb", "keys"]);
        assert!(denied(&["+@read", "+@write", "-@dangerous"]).is_empty());
    }

    #[test]
    fn order_matters_and_explicit_denials_work() {
        assert_eq!(denied(&["-@dangerous", "+@all"]).len(), 5);
        assert!(denied(&["+@all", "-@dangerous"]).is_empty());
        assert!(denied(&["allcommands", "-flushall", "-flushdb", "-keys", "-config", "-debug"]).is_empty());
        assert_eq!(denied(&["+@all", "-flushall", "-FLUSHDB", "-keys", "-config"]), vec!["debug"]);
        assert_eq!(denied(&["+@all", "nocommands", "+get"]), Vec::<&str>::new());
    }

    #[test]
    fn subcommands_count_as_allowing() {
        assert_eq!(denied(&["+@read", "-@dangerous", "+config|get"]), vec!["config"]);
        assert_eq!(denied(&["+@admin", "-config|set"]), vec!["config", "debug"]);
        assert_eq!(dangerous_allowed(&rules(&["+get", "+keys"])), vec![("keys", 1)]);
    }
}
