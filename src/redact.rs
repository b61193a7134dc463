//! Redaction of rendered text before it is shown anywhere (plan diffs, JSON, markdown).
//!
//! Rendered files never hold plaintext passwords, but ACL rules carry password hashes
//! (`#<sha256>`), which are as good as passwords for weak ones: plans show
//! `#(sensitive value)` instead, like helm-diff does for Secrets.

use similar::TextDiff;

use crate::secrets::REDACTED;

/// Redact password material in `text`; returns the text and how many values were hidden.
pub fn redact_text(_path: &str, text: &str) -> (String, usize) {
    let mut count = 0;
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let is_acl_rule = line.trim_start().starts_with("user ");
        // Most lines (dashboards, units, manifests) hold neither a hash nor a password rule.
        let may_hold_secret = line.contains('#') || (is_acl_rule && line.contains('>'));
        if !may_hold_secret {
            out.push_str(line);
            continue;
        }
        let (body, newline) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        for (i, token) in body.split(' ').enumerate() {
            if i > 0 {
                out.push(' ');
            }
            if is_password_hash(token) {
                count += 1;
                out.push('#');
                out.push_str(REDACTED);
            } else if is_acl_rule && token.starts_with('>') && token.len() > 1 {
                count += 1;
                out.push('>');
                out.push_str(REDACTED);
            } else {
                out.push_str(token);
            }
        }
        out.push_str(newline);
    }
    (out, count)
}

fn is_password_hash(token: &str) -> bool {
    token.len() == 65 && token.starts_with('#') && token[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// A unified diff with three lines of context, headed `a/<path>` / `b/<path>`.
pub fn unified_diff(path: &str, old: &str, new: &str) -> String {
    unified_diff_between(&format!("a/{path}"), &format!("b/{path}"), old, new)
}

/// A unified diff of two files with their own names (`--- old_name` / `+++ new_name`).
pub fn unified_diff_between(old_name: &str, new_name: &str, old: &str, new: &str) -> String {
    TextDiff::from_lines(old, new).unified_diff().context_radius(3).header(old_name, new_name).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_plaintext_acl_passwords_are_hidden() {
        let hash = format!("#{}", "a".repeat(64));
        let text = format!("user app reset on {hash} ~app:*\nuser old on >hunter2 +@all\n# comment #x\n");
        let (out, n) = redact_text("users.acl", &text);
        assert_eq!(n, 2);
        assert!(!out.contains(&hash) && !out.contains("hunter2"), "{out}");
        assert!(out.contains("#(sensitive value)") && out.contains("# comment #x"));
    }
}
