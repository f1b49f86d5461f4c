//! The JSON of the lesson's scenario, pinned: a server answering in GBK, a client that sends
//! the lesson's greeting and closes, ctrl-c. Keys, codes and texts must not change when the
//! code behind them does (times, ports and this machine's addresses are masked).

use std::io::Write;

use crate::util::*;

/// Masks what differs from run to run, keeping the line as written (key order too).
fn masked(line: &str) -> String {
    let mut out = line.to_string();
    for key in ["time", "since", "peer", "local", "addr"] {
        out = mask_string(&out, key);
    }
    for (key, close) in [("duration_ms", None), ("reachable", Some(']'))] {
        let pattern = format!("\"{key}\":");
        let mut from = 0;
        while let Some(at) = out[from..].find(&pattern).map(|i| from + i + pattern.len()) {
            let end = match close {
                Some(c) => out[at..].find(c).map_or(out.len(), |i| at + i + 1),
                None => out[at..].find(|c: char| !c.is_ascii_digit()).map_or(out.len(), |i| at + i),
            };
            out.replace_range(at..end, if close.is_some() { "[REACHABLE]" } else { "0" });
            from = at;
        }
    }
    out
}

/// `"key":"VALUE"`: times become TIME, addresses keep their host and lose their port.
fn mask_string(line: &str, key: &str) -> String {
    let pattern = format!("\"{key}\":\"");
    let mut out = line.to_string();
    let mut from = 0;
    while let Some(at) = out[from..].find(&pattern).map(|i| from + i + pattern.len()) {
        let end = at + out[at..].find('"').expect("a closing quote");
        let value = &out[at..end];
        let masked = match key {
            "time" | "since" => "TIME".to_string(),
            _ => format!("{}:PORT", value.rsplit_once(':').map_or(value, |(h, _)| h)),
        };
        out.replace_range(at..end, &masked);
        from = at + masked.len();
    }
    out
}

#[test]
fn the_lesson_scenario_in_json() {
    let mut server = Proc::spawn(&[
        "listen",
        "0",
        "--bind",
        "127.0.0.1",
        "--reply",
        "ok，问题正在处理中...",
        "--encoding",
        "gbk",
        "--json",
    ]);
    let port = server.port();
    let mut c = client(port);
    c.write_all(&gbk("你好服务端，我是客户端小黑!")).expect("send");
    let answer = gbk("ok，问题正在处理中...");
    assert_eq!(read_n(&mut c, answer.len()), answer);
    // The answer is written before it is counted and shown (microseconds later): wait for
    // it to be shown, so that `:list` cannot overtake it on a busy machine.
    server.event_where("the answer shown", |v| v["event"] == "data" && v["dir"] == "out");
    // What the person at the server types: a list, a line for a client that is not there, help.
    server.type_line(":list");
    server.event("clients", None);
    server.type_line("@7 hi");
    server.event("error", None);
    server.type_line(":help");
    server.event("note", None);
    drop(c);
    server.event("closed", Some(1));
    server.signal(libc::SIGINT);
    server.event("stopped", None);
    server.wait();
    let lines: Vec<String> = server
        .seen
        .iter()
        // The open-files note depends on this machine's limits.
        .filter(|l| !l.contains("open files:"))
        .map(|l| masked(l))
        .collect();
    insta::assert_snapshot!(lines.join("\n"));
}
