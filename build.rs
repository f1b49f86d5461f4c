//! Build-time check of the interface's two languages (`locales/*.toml`, rust-i18n's
//! one-file format): every message has English and Chinese with the same `%{names}`, and
//! every `t!("key")` in `src/` names a message in its crate's locales (the tool's, and
//! `crates/text/locales` for netassist-text). `help.*` keys hold only the
//! Chinese of `--help` (its English is clap's doc comments; a unit test checks every
//! option has one). A missing translation fails the build, never shows a key at run time.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

fn main() {
    let mut problems = Vec::new();
    // Each crate's `t!` looks in its own messages: the tool's, and netassist-text's.
    for (locales, src) in [("locales", "src"), ("crates/text/locales", "crates/text/src")] {
        println!("cargo:rerun-if-changed={locales}");
        println!("cargo:rerun-if-changed={src}");
        check(Path::new(locales), Path::new(src), &mut problems);
    }
    if !problems.is_empty() {
        panic!("translations:\n  {}", problems.join("\n  "));
    }
}

/// Both languages of every message in `locales`, and a message for every key `src` uses.
fn check(locales: &Path, src: &Path, problems: &mut Vec<String>) {
    let mut keys = BTreeSet::new();
    for entry in fs::read_dir(locales).expect("the locales folder exists") {
        let path = entry.expect("readable").path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = fs::read_to_string(&path).expect("readable locale file");
            let table: toml::Table = match text.parse() {
                Ok(t) => t,
                Err(e) => panic!("{}: {e}", path.display()),
            };
            walk("", &toml::Value::Table(table), &mut keys, problems);
        }
    }
    let mut used = Vec::new();
    scan(src, &mut used);
    for (file, key) in used {
        if !keys.contains(&key) {
            problems.push(format!("{file}: t!(\"{key}\") has no message in {}/", locales.display()));
        }
    }
}

fn walk(prefix: &str, value: &toml::Value, keys: &mut BTreeSet<String>, problems: &mut Vec<String>) {
    let Some(table) = value.as_table() else { return };
    if table.contains_key("en") || table.contains_key("zh-CN") {
        let en = table.get("en").and_then(|v| v.as_str());
        let zh = table.get("zh-CN").and_then(|v| v.as_str());
        match (en, zh) {
            (Some(en), Some(zh)) if names(en) != names(zh) => {
                problems.push(format!("{prefix}: en uses {:?}, zh-CN uses {:?}", names(en), names(zh)))
            }
            (Some(_), Some(_)) => {}
            (None, Some(_)) if prefix.starts_with("help.") => {}
            _ => problems.push(format!("{prefix}: needs both en and zh-CN")),
        }
        keys.insert(prefix.to_string());
        return;
    }
    for (k, v) in table {
        if k == "_version" {
            continue;
        }
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        walk(&key, v, keys, problems);
    }
}

/// The `%{name}` placeholders of a message.
fn names(text: &str) -> BTreeSet<&str> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("%{") {
        let Some(len) = rest[start..].find('}') else { break };
        out.insert(&rest[start + 2..start + len]);
        rest = &rest[start + len..];
    }
    out
}

/// Every `t!("literal"` in the sources.
fn scan(dir: &Path, used: &mut Vec<(String, String)>) {
    for entry in fs::read_dir(dir).expect("the sources are readable") {
        let path = entry.expect("readable").path();
        if path.is_dir() {
            scan(&path, used);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = fs::read_to_string(&path).expect("readable source");
            let mut from = 0;
            while let Some(at) = text[from..].find("t!(\"") {
                let start = from + at;
                from = start + 4;
                // `format!("` ends in t!(" too: only a `t` that starts a word is the macro.
                let before = text[..start].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                if let Some(end) = text[from..].find('"') {
                    used.push((path.display().to_string(), text[from..from + end].to_string()));
                }
            }
        }
    }
}
