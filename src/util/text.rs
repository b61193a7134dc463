//! Quoting for the text formats redisctl writes.

/// Characters a redis.conf-family argument may hold without quotes (`render::conf::quote` leaves
/// words of these alone). ACL files have no quoting at all (redis-server splits their lines on
/// spaces), so an ACL rule must consist of these characters only.
pub fn conf_plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.:/@+*,=%~&^!?[]{}<>|$#()".contains(c)
}

/// Quote one word for a POSIX shell: single quotes, with `'` written as `'\''`.
pub fn sh_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c)) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Text made safe for one markdown table cell.
pub fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
