//! `bench merge`: several bench processes against one local server, merged into one result.

use std::process::Stdio;

use serde_json::Value;

use crate::util::*;

fn summary(text: &str) -> Value {
    let line = text.lines().rev().find(|l| l.contains("\"event\":\"summary\"")).expect("a summary line");
    serde_json::from_str(line).unwrap()
}

fn merged(args: &[&str], stdin: Option<&str>) -> (String, Value) {
    let mut cmd = bin();
    cmd.args(["bench", "merge"]).args(args).stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(text) = stdin {
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), text.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let json = if args.contains(&"--json") { serde_json::from_str(text.trim()).unwrap() } else { Value::Null };
    (text, json)
}

fn f(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("{key} in {v}"))
}

#[test]
fn three_runs_merge_into_one_honest_result() {
    let mut server = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--echo", "--quiet", "--json"]);
    let port = server.port().to_string();
    // Three load processes at once, as three machines would run.
    let children: Vec<_> = (0..3)
        .map(|_| {
            bin()
                .args(["bench", "127.0.0.1", &port, "-c", "2", "-d", "1", "--json"])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<String> =
        children.into_iter().map(|c| String::from_utf8(c.wait_with_output().unwrap().stdout).unwrap()).collect();
    let runs: Vec<Value> = outputs.iter().map(|o| summary(o)).collect();
    let dir = std::env::temp_dir().join(format!("netassist-merge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files: Vec<String> = outputs
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let path = dir.join(format!("run{i}.json"));
            std::fs::write(&path, o).unwrap();
            path.display().to_string()
        })
        .collect();
    let mut args: Vec<&str> = files.iter().map(String::as_str).collect();
    args.push("--json");
    let (_, all) = merged(&args, None);
    assert_eq!(all["runs"], 3);
    assert_eq!(f(&all, "rounds"), runs.iter().map(|r| f(r, "rounds")).sum::<f64>(), "rounds are summed");
    assert_eq!(f(&all, "sent_bytes"), runs.iter().map(|r| f(r, "sent_bytes")).sum::<f64>());
    assert_eq!(f(&all, "conns"), 6.0);
    let p99s: Vec<f64> = runs.iter().map(|r| f(r, "p99_us")).collect();
    let (lo, hi) = (p99s.iter().cloned().fold(f64::MAX, f64::min), p99s.iter().cloned().fold(0.0, f64::max));
    assert!(lo <= f(&all, "p99_us") && f(&all, "p99_us") <= hi, "merged p99 {} within {p99s:?}", f(&all, "p99_us"));
    assert!(f(&all, "overlap") > 0.5, "started together: {all}");
    // One run merged is itself.
    let (_, one) = merged(&[files[0].as_str(), "--json"], None);
    for key in ["rounds", "p50_us", "p99_us", "max_us"] {
        assert_eq!(f(&one, key), f(&runs[0], key), "{key}");
    }
    // From stdin, with the progress lines and a server's log mixed in; a merge merges again.
    let mut mixed = outputs.join("");
    mixed.push_str(&server.seen.join("\n"));
    let (human, _) = merged(&["-"], Some(&mixed));
    assert!(human.starts_with("3 runs merged, 6 connections in all"), "{human}");
    let (_, again) = merged(&["-", "--json"], Some(&format!("{}\n", all)));
    assert_eq!((f(&again, "rounds"), f(&again, "p99_us")), (f(&all, "rounds"), f(&all, "p99_us")));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn nothing_to_merge_is_one_clear_error() {
    let out = bin().args(["bench", "merge", "-"]).stdin(Stdio::null()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("error: bench merge: no bench summary in -"), "{err}");
}
