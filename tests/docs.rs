//! Completion scripts and man pages, from the same definitions as `--help`.

use std::collections::BTreeSet;
use std::process::Command;

use crate::util::*;

fn run(args: &[&str]) -> String {
    let out = bin().args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Checks a script with the shell's own parser, where the shell is installed.
fn parses(shell: &str, check: &[&str], script: &str) -> bool {
    let path = std::env::temp_dir().join(format!("netassist-completion-{}.{shell}", std::process::id()));
    std::fs::write(&path, script).unwrap();
    let status = Command::new(shell).args(check).arg(&path).status();
    let _ = std::fs::remove_file(&path);
    match status {
        Ok(s) => {
            assert!(s.success(), "{shell} cannot parse the completion script");
            true
        }
        Err(_) => {
            eprintln!("skipped: {shell} is not installed");
            false
        }
    }
}

#[test]
fn completion_scripts_parse_and_complete_values() {
    let bash = run(&["completions", "bash"]);
    assert!(parses("bash", &["-n"], &bash));
    for word in ["listen", "connect", "relay", "completions", "--encoding", "gbk", "shift_jis", "auto", "crc16-modbus"]
    {
        assert!(bash.contains(word), "{word} in the bash script");
    }
    // --show's values and bench's modes.
    assert!(bash.contains("len text hex both"), "--show values");
    assert!(bash.contains("pingpong stream churn sink"), "bench modes");
    parses("zsh", &["-n"], &run(&["completions", "zsh"]));
    parses("fish", &["--no-execute"], &run(&["completions", "fish"]));
    for shell in ["powershell", "elvish"] {
        assert!(run(&["completions", shell]).contains("netassist"), "{shell}");
    }
}

/// The long option an option's first line defines: `  -e, --encoding <NAME>` → `--encoding`.
fn defined(line: &str) -> Option<String> {
    let line = line.trim_start();
    let line = match line.strip_prefix('-') {
        Some(rest) if !rest.starts_with('-') => rest.split_once(", ")?.1,
        _ => line,
    };
    let name = line.strip_prefix("--")?.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')).next()?;
    (!name.is_empty()).then(|| format!("--{name}"))
}

/// The long options a `--help` defines (not those its texts mention).
fn help_options(text: &str) -> BTreeSet<String> {
    text.lines().filter(|l| l.starts_with("  ")).filter_map(defined).collect()
}

/// The long options a man page defines: the line after each `.TP` (roff writes `-` as `\-`).
fn man_options(roff: &str) -> BTreeSet<String> {
    let plain = roff.replace("\\-", "-").replace("\\fB", "").replace("\\fR", "").replace("\\fI", "");
    let lines: Vec<&str> = plain.lines().collect();
    lines.windows(2).filter(|w| w[0] == ".TP").filter_map(|w| defined(w[1])).collect()
}

#[test]
fn man_pages_describe_the_options_help_lists() {
    for command in ["listen", "connect", "relay", "bench", "ping", "port", "buffers", "checksum", "ui", "ip"] {
        let help = run(&[command, "--help"]);
        let page = run(&["manpage", command]);
        assert!(page.contains(&format!(".TH netassist-{command} 1")), "{command}'s page title");
        let (in_help, in_page) = (help_options(&help), man_options(&page));
        assert!(in_help.contains("--help") && in_help.contains("--lang"), "{command}: {in_help:?}");
        let missing: Vec<&String> = in_help.iter().filter(|o| !in_page.contains(*o)).collect();
        assert!(missing.is_empty(), "{command}: the man page lacks {missing:?}");
        assert!(in_help.len() > 2, "{command}: {in_help:?}");
    }
    let root = run(&["manpage"]);
    assert!(root.contains(".TH netassist 1") && root.contains("listen"));
    let out = bin().args(["manpage", "nosuch"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no command is named 'nosuch'"));
}

#[test]
fn every_page_is_written_into_a_directory() {
    let dir = std::env::temp_dir().join(format!("netassist-man-{}", std::process::id()));
    let listed = run(&["manpage", "--dir", dir.to_str().unwrap()]);
    assert_eq!(listed.lines().count(), 13, "netassist and its 12 commands:\n{listed}");
    let page = std::fs::read_to_string(dir.join("netassist-listen.1")).unwrap();
    assert!(page.contains("\\-\\-reply"));
    let man = Command::new("man").arg("-l").arg(dir.join("netassist-listen.1")).env("MANPAGER", "cat").output();
    if let Ok(out) = man
        && out.status.success()
    {
        assert!(String::from_utf8_lossy(&out.stdout).contains("netassist listen"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
