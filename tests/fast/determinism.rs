//! Rendering is deterministic: the same contract gives the same bytes (and file modes) —
//! run after run, whatever the output directory, however the project path is spelled, and
//! whatever the clock, time zone or locale.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::*;

/// path → (mode, bytes) of every file under `dir`.
fn snapshot(dir: &Path) -> BTreeMap<String, (u32, Vec<u8>)> {
    read_tree(dir)
        .into_iter()
        .map(|(rel, bytes)| {
            let mode = std::fs::metadata(dir.join(&rel)).unwrap().permissions().mode() & 0o777;
            (rel, (mode, bytes))
        })
        .collect()
}

fn render_with(
    cwd: &Path,
    project: &str,
    env: &str,
    out: &Path,
    extra_env: &[(&str, &str)],
) -> BTreeMap<String, (u32, Vec<u8>)> {
    let mut cmd = redisctl_in(cwd);
    cmd.args(["--project", project, "render", "--env", env, "--out"]).arg(out);
    for (k, v) in SAMPLE_ENV_PASSWORDS.iter().chain(extra_env) {
        cmd.env(k, v);
    }
    Run::of(&mut cmd).assert_code(0);
    let tree = snapshot(out);
    assert!(!tree.is_empty());
    tree
}

/// Every environment of every project, as (working directory, project argument, env).
fn environments_to_check() -> Vec<(std::path::PathBuf, String, String)> {
    let mut all = Vec::new();
    for env in environments(&repo_root()) {
        all.push((repo_root(), ".".to_string(), env));
    }
    for example in EXAMPLES {
        for env in environments(&example_dir(example)) {
            all.push((repo_root(), format!("examples/{example}"), env));
        }
    }
    all
}

#[test]
fn rendering_twice_gives_identical_bytes() {
    for (cwd, project, env) in environments_to_check() {
        let tmp = tempfile::tempdir().unwrap();
        let first = render_with(&cwd, &project, &env, &tmp.path().join("a"), &[]);
        let second = render_with(&cwd, &project, &env, &tmp.path().join("b"), &[]);
        assert!(first == second, "{project} / {env}: two renders differ");

        // Rendering over the previous output changes nothing either.
        let again = render_with(&cwd, &project, &env, &tmp.path().join("a"), &[]);
        assert!(first == again, "{project} / {env}: re-rendering into the same directory changed it");
    }
}

#[test]
fn output_does_not_depend_on_how_the_project_is_named_or_when() {
    for (cwd, project, env) in environments_to_check() {
        let tmp = tempfile::tempdir().unwrap();
        let relative = render_with(&cwd, &project, &env, &tmp.path().join("relative"), &[]);
        // The same project by absolute path, from another working directory.
        let absolute = cwd.join(&project).canonicalize().unwrap();
        let from_elsewhere =
            render_with(tmp.path(), absolute.to_str().unwrap(), &env, &tmp.path().join("absolute"), &[]);
        assert!(relative == from_elsewhere, "{project} / {env}: output depends on the project path");
        // Another time zone and locale.
        let elsewhere_in_time = render_with(
            &cwd,
            &project,
            &env,
            &tmp.path().join("tz"),
            &[("TZ", "Pacific/Kiritimati"), ("LC_ALL", "C"), ("LANG", "tr_TR.UTF-8")],
        );
        assert!(relative == elsewhere_in_time, "{project} / {env}: output depends on TZ or locale");
        // No absolute path of the machine leaks into the files.
        for (rel, (_, bytes)) in &relative {
            let text = String::from_utf8_lossy(bytes);
            assert!(!text.contains(absolute.to_str().unwrap()), "{project} / {env}: {rel} contains the project path");
            assert!(!text.contains(tmp.path().to_str().unwrap()), "{project} / {env}: {rel} contains the output path");
        }
    }
}

/// A copy of a project renders to the same bytes as the original: nothing depends on where it
/// lives or on files outside the contract.
#[test]
fn a_copy_renders_the_same() {
    for example in EXAMPLES {
        let copy = TempProject::copy_of(&example_dir(example));
        let tmp = tempfile::tempdir().unwrap();
        let original = render_with(&repo_root(), &format!("examples/{example}"), "local", &tmp.path().join("o"), &[]);
        let copied = render_with(copy.path(), ".", "local", &tmp.path().join("c"), &[]);
        assert!(original == copied, "{example}: a copy renders differently");
    }
}
