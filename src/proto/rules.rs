//! Reply rules: answer like the device would (`--rule 'MATCH => REPLY'`, `--rules FILE`).
//! Rules are checked in order for every message; the first that matches answers it.
//!
//! - MATCH: `text:T` (the whole message), `prefix:T`, `contains:T`, `hex:HEX`,
//!   `hexprefix:HEX`, `re:REGEX` (on the text decoded with the encoding), `any`.
//! - REPLY: text with escapes, or `hex:HEX`, where placeholders may stand: `{echo}` (the
//!   message), `{1}`..`{9}` (the regex's groups), `{counter}` (how many times this rule
//!   answered), `{time}`, and a checksum name (`{crc16-modbus}`, `{sum8}`, ...) for the
//!   checksum of all the reply bytes before it. `drop` answers nothing; `close` closes the
//!   connection; `after MS REPLY` sends the reply that much later.

use rust_i18n::t;
use std::sync::atomic::{AtomicU64, Ordering};

use super::checksum::Checksum;
use crate::render::TextEncoding;
use crate::render::escape::text_to_bytes;
use crate::render::hex::parse_hex;

/// What a message must be for a rule to answer it.
#[derive(Debug)]
enum Match {
    Exact(Vec<u8>),
    Prefix(Vec<u8>),
    Contains(Vec<u8>),
    /// On the decoded text; with UTF-8, on the bytes as they came (no decoding, and groups
    /// are the message's own bytes).
    Regex(regex::Regex),
    RegexUtf8(regex::bytes::Regex),
    Any,
}

/// One piece of a reply.
#[derive(Debug, Clone)]
enum Part {
    Bytes(Vec<u8>),
    Echo,
    Group(usize),
    Counter,
    Time,
    Checksum(Checksum),
}

#[derive(Debug)]
enum Action {
    Reply(Vec<Part>),
    Drop,
    Close,
}

/// One rule, as written, and how many times it answered.
#[derive(Debug)]
pub struct Rule {
    pub text: String,
    matcher: Match,
    action: Action,
    /// `after MS`: the reply goes this much later.
    after: Option<std::time::Duration>,
    count: AtomicU64,
}

/// The rules, in order; the text encoding they read and write text in.
#[derive(Debug, Default)]
pub struct Rules {
    rules: Vec<Rule>,
    encoding: Option<TextEncoding>,
}

/// The rules of a run: `--rule`s and a `--rules FILE`, which SIGHUP (or the UI) re-reads
/// while the run goes on; a file that no longer parses leaves the rules as they were.
#[derive(Debug)]
pub struct RuleSet {
    current: std::sync::RwLock<std::sync::Arc<Rules>>,
    /// Bumped at each reload: a connection keeps its own snapshot of the rules and takes
    /// the new one when this changes (a load per message, no lock, no shared count).
    generation: AtomicU64,
    given: Vec<String>,
    file: Option<std::path::PathBuf>,
    encoding: TextEncoding,
}

impl RuleSet {
    /// Reads and checks the rules; `None` when there are none.
    pub fn load(
        given: &[String],
        file: Option<&std::path::Path>,
        encoding: TextEncoding,
    ) -> Result<Option<RuleSet>, String> {
        let set = RuleSet {
            current: std::sync::RwLock::new(std::sync::Arc::new(Rules::default())),
            generation: AtomicU64::new(0),
            given: given.to_vec(),
            file: file.map(std::path::Path::to_path_buf),
            encoding,
        };
        let rules = set.read()?;
        if rules.is_empty() && set.file.is_none() {
            return Ok(None);
        }
        *set.current.write().unwrap_or_else(|p| p.into_inner()) = std::sync::Arc::new(rules);
        Ok(Some(set))
    }

    fn read(&self) -> Result<Rules, String> {
        let mut lines = self.given.clone();
        if let Some(path) = &self.file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {}", path.display(), crate::error::io_reason(&e)))?;
            lines.extend(Rules::lines_of(&text));
        }
        Rules::parse(&lines, self.encoding)
    }

    /// The rules now.
    pub fn current(&self) -> std::sync::Arc<Rules> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A set with no rules yet, for rules given while the run goes on (the UI's panel).
    pub fn empty(encoding: TextEncoding) -> RuleSet {
        RuleSet {
            current: std::sync::RwLock::new(std::sync::Arc::new(Rules::default())),
            generation: AtomicU64::new(0),
            given: Vec::new(),
            file: None,
            encoding,
        }
    }

    /// Puts these rules in place of the current ones (every connection takes them at its
    /// next message); a rule that does not parse leaves the rules as they were.
    pub fn replace(&self, lines: &[String], encoding: TextEncoding) -> Result<usize, String> {
        let rules = Rules::parse(lines, encoding)?;
        let n = rules.rules.len();
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = std::sync::Arc::new(rules);
        self.generation.fetch_add(1, Ordering::Release);
        Ok(n)
    }

    /// Re-reads the file; returns how many rules there are now.
    pub fn reload(&self) -> Result<usize, String> {
        let rules = self.read()?;
        let n = rules.rules.len();
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = std::sync::Arc::new(rules);
        self.generation.fetch_add(1, Ordering::Release);
        Ok(n)
    }

    /// Which version of the rules is current (changes at each reload).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The file SIGHUP re-reads, if any.
    pub fn file(&self) -> Option<&std::path::Path> {
        self.file.as_deref()
    }
}

/// What the rules say to do with a message.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// No rule matched: the usual reply applies.
    NoMatch,
    Reply(Vec<u8>),
    /// `after MS REPLY`: send it this much later.
    Later(std::time::Duration, Vec<u8>),
    Drop,
    Close,
}

impl Rules {
    /// Parses rules (`MATCH => REPLY` each); an error names the rule and what is wrong.
    pub fn parse(lines: &[String], encoding: TextEncoding) -> Result<Rules, String> {
        let mut rules = Vec::with_capacity(lines.len());
        for line in lines {
            rules.push(Rule::parse(line, encoding).map_err(|e| format!("rule '{line}': {e}"))?);
        }
        Ok(Rules { rules, encoding: Some(encoding) })
    }

    /// Reads a rules file: a rule per line, `#` starts a comment, blank lines are skipped.
    pub fn lines_of(text: &str) -> Vec<String> {
        text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The first matching rule's answer to `message`.
    pub fn answer(&self, message: &[u8]) -> Outcome {
        let encoding = self.encoding.unwrap_or(TextEncoding::UTF8);
        // Decoded once, for the first `re:` rule that needs it (not with UTF-8: those
        // rules read the bytes).
        let mut text: Option<String> = None;
        for rule in &self.rules {
            let groups: Option<Vec<Vec<u8>>> = match &rule.matcher {
                Match::Exact(b) => (message == b.as_slice()).then(Vec::new),
                Match::Prefix(b) => message.starts_with(b).then(Vec::new),
                Match::Contains(b) => {
                    (b.is_empty() || message.windows(b.len()).any(|w| w == b.as_slice())).then(Vec::new)
                }
                Match::Any => Some(Vec::new()),
                Match::RegexUtf8(re) if !rule.uses_groups() => re.is_match(message).then(Vec::new),
                Match::RegexUtf8(re) => re
                    .captures(message)
                    .map(|c| (0..c.len()).map(|i| c.get(i).map_or_else(Vec::new, |m| m.as_bytes().to_vec())).collect()),
                Match::Regex(re) if !rule.uses_groups() => {
                    let text = text.get_or_insert_with(|| encoding.decode_lossy(message));
                    re.is_match(text).then(Vec::new)
                }
                Match::Regex(re) => {
                    let text = text.get_or_insert_with(|| encoding.decode_lossy(message));
                    re.captures(text).map(|c| {
                        (0..c.len())
                            .map(|i| {
                                c.get(i).map_or_else(Vec::new, |m| encoding.encode(m.as_str()).unwrap_or_default())
                            })
                            .collect()
                    })
                }
            };
            let Some(groups) = groups else { continue };
            let n = rule.count.fetch_add(1, Ordering::Relaxed) + 1;
            return match &rule.action {
                Action::Drop => Outcome::Drop,
                Action::Close => Outcome::Close,
                Action::Reply(parts) => {
                    let mut out = Vec::new();
                    for part in parts {
                        match part {
                            Part::Bytes(b) => out.extend_from_slice(b),
                            Part::Echo => out.extend_from_slice(message),
                            Part::Group(i) => out.extend_from_slice(groups.get(*i).map_or(&[][..], Vec::as_slice)),
                            Part::Counter => out.extend_from_slice(n.to_string().as_bytes()),
                            Part::Time => out.extend_from_slice(
                                crate::render::time::LocalClock::default()
                                    .format(std::time::SystemTime::now())
                                    .as_bytes(),
                            ),
                            Part::Checksum(c) => {
                                let sum = c.of(&out);
                                out.extend_from_slice(&sum);
                            }
                        }
                    }
                    match rule.after {
                        Some(after) => Outcome::Later(after, out),
                        None => Outcome::Reply(out),
                    }
                }
            };
        }
        Outcome::NoMatch
    }
}

impl Rule {
    /// Whether the reply uses a regex group (`{1}`..`{9}`): only then are they captured.
    fn uses_groups(&self) -> bool {
        matches!(&self.action, Action::Reply(parts) if parts.iter().any(|p| matches!(p, Part::Group(_))))
    }

    fn parse(line: &str, encoding: TextEncoding) -> Result<Rule, String> {
        let Some((matcher, reply)) = line.split_once("=>") else {
            return Err(t!("rules.shape").into_owned());
        };
        let (matcher, reply) = (matcher.trim(), reply.trim());
        let text = |t: &str| text_to_bytes(t, encoding).map_err(|e| e.to_string());
        let hex = |t: &str| parse_hex(t).map_err(|e| e.to_string());
        let matcher = match matcher.split_once(':') {
            _ if matcher == "any" => Match::Any,
            Some(("text", t)) => Match::Exact(text(t)?),
            Some(("prefix", t)) => Match::Prefix(text(t)?),
            Some(("contains", t)) => Match::Contains(text(t)?),
            Some(("hex", h)) => Match::Exact(hex(h)?),
            Some(("hexprefix", h)) => Match::Prefix(hex(h)?),
            Some(("re", r)) if encoding == TextEncoding::UTF8 => {
                Match::RegexUtf8(regex::bytes::Regex::new(r).map_err(|e| format!("bad regex: {e}"))?)
            }
            Some(("re", r)) => Match::Regex(regex::Regex::new(r).map_err(|e| format!("bad regex: {e}"))?),
            _ => {
                return Err(t!("rules.bad_match", matcher = matcher).into_owned());
            }
        };
        // `after MS REPLY`: the reply waits.
        let (after, reply) = match reply.strip_prefix("after ") {
            Some(rest) => {
                let (ms, reply) = rest.trim_start().split_once(char::is_whitespace).unwrap_or((rest.trim(), ""));
                let ms: u64 =
                    ms.parse().ok().filter(|ms| (1..=3_600_000).contains(ms)).ok_or_else(|| {
                        format!("'after {ms}': give milliseconds from 1 to 3600000, like after 500 OK")
                    })?;
                let reply = reply.trim();
                if matches!(reply, "" | "drop" | "close") {
                    return Err(format!("'after {ms}' delays a reply; write after {ms} REPLY"));
                }
                (Some(std::time::Duration::from_millis(ms)), reply)
            }
            None => (None, reply),
        };
        let action = match reply {
            "drop" => Action::Drop,
            "close" => Action::Close,
            _ => Action::Reply(match reply.strip_prefix("hex:") {
                Some(h) => parts(h, &|lit| hex(lit))?,
                None => parts(reply, &|lit| text(lit))?,
            }),
        };
        Ok(Rule { text: line.to_string(), matcher, action, after, count: AtomicU64::new(0) })
    }
}

/// Splits a reply into literal runs (turned into bytes by `literal`) and `{placeholders}`.
fn parts(reply: &str, literal: &dyn Fn(&str) -> Result<Vec<u8>, String>) -> Result<Vec<Part>, String> {
    let mut out = Vec::new();
    let mut rest = reply;
    while let Some(open) = rest.find('{') {
        // `\u{...}` is an escape, not a placeholder.
        if rest[..open].ends_with("\\u") {
            let close = rest[open..].find('}').map_or(rest.len(), |i| open + i + 1);
            push_literal(&mut out, &rest[..close], literal)?;
            rest = &rest[close..];
            continue;
        }
        push_literal(&mut out, &rest[..open], literal)?;
        let close =
            rest[open..].find('}').ok_or_else(|| format!("'{{' at '{}' is never closed", &rest[open..]))? + open;
        let name = &rest[open + 1..close];
        out.push(match name {
            "echo" => Part::Echo,
            "counter" => Part::Counter,
            "time" => Part::Time,
            n if n.len() == 1 && n.as_bytes()[0].is_ascii_digit() && n != "0" => {
                Part::Group(usize::from(n.as_bytes()[0] - b'0'))
            }
            other => Part::Checksum(Checksum::parse(other).map_err(|e| format!("{{{other}}}: {e}"))?),
        });
        rest = &rest[close + 1..];
    }
    push_literal(&mut out, rest, literal)?;
    Ok(out)
}

fn push_literal(
    out: &mut Vec<Part>,
    text: &str,
    literal: &dyn Fn(&str) -> Result<Vec<u8>, String>,
) -> Result<(), String> {
    let bytes = literal(text)?;
    if !bytes.is_empty() {
        out.push(Part::Bytes(bytes));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(lines: &[&str]) -> Rules {
        Rules::parse(&lines.iter().map(|s| s.to_string()).collect::<Vec<_>>(), TextEncoding::UTF8).unwrap()
    }

    #[test]
    fn the_modbus_rule_answers_with_a_correct_crc() {
        let r = rules(&["hexprefix:01 03 => hex:01 03 04 00 0a 00 0b {crc16-modbus}"]);
        assert_eq!(
            r.answer(&[0x01, 0x03, 0x00, 0x00, 0x00, 0x02, 0xc4, 0x0b]),
            Outcome::Reply(vec![0x01, 0x03, 0x04, 0x00, 0x0a, 0x00, 0x0b, 0x9b, 0xf6])
        );
        assert_eq!(r.answer(&[0x02, 0x03]), Outcome::NoMatch);
    }

    #[test]
    fn first_match_wins_with_placeholders() {
        let r = rules(&[
            r"text:AT\r\n => OK\r\n",
            r"re:^AT\+(\w+)=(\d+) => +{1}: {2} #{counter}\r\n",
            "prefix:PING => PONG {echo}",
            "contains:bye => close",
            "hex:ff => drop",
            r"any => ? {counter}\n",
        ]);
        assert_eq!(r.answer(b"AT\r\n"), Outcome::Reply(b"OK\r\n".to_vec()));
        assert_eq!(r.answer(b"AT+CSQ=7\r\n"), Outcome::Reply(b"+CSQ: 7 #1\r\n".to_vec()));
        assert_eq!(r.answer(b"AT+CSQ=8\r\n"), Outcome::Reply(b"+CSQ: 8 #2\r\n".to_vec()));
        assert_eq!(r.answer(b"PING 1"), Outcome::Reply(b"PONG PING 1".to_vec()));
        assert_eq!(r.answer(b"ok bye"), Outcome::Close);
        assert_eq!(r.answer(&[0xff]), Outcome::Drop);
        assert_eq!(r.answer(b"?"), Outcome::Reply(b"? 1\n".to_vec()));
    }

    #[test]
    fn text_rules_use_the_encoding() {
        let gbk = TextEncoding::from_name("gbk").unwrap();
        let r = Rules::parse(&["prefix:你好 => 收到".to_string()], gbk).unwrap();
        assert_eq!(r.answer(&[0xc4, 0xe3, 0xba, 0xc3, 0x21]), Outcome::Reply(vec![0xca, 0xd5, 0xb5, 0xbd]));
    }

    #[test]
    fn regexes_read_utf8_bytes_as_they_came_and_other_encodings_decoded() {
        // Binary around the text: the groups are the message's own bytes.
        let r = rules(&[r"re:ID=(\d+) => ok {1}", r"re:^\xff => never"]);
        assert_eq!(r.answer(b"\xfe\x00ID=42\xff"), Outcome::Reply(b"ok 42".to_vec()));
        assert_eq!(r.answer(b"\xff\x01"), Outcome::NoMatch, "\\xff in a pattern is U+00FF, not the byte");
        let gbk = TextEncoding::from_name("gbk").unwrap();
        let r = Rules::parse(&[r"re:温度=(\d+) => T{1}".to_string()], gbk).unwrap();
        let message = gbk.encode("温度=21").unwrap();
        assert_eq!(r.answer(&message), Outcome::Reply(b"T21".to_vec()));
    }

    #[test]
    fn after_delays_a_reply() {
        let r = rules(&[r"text:PING => after 250 PONG\n"]);
        assert_eq!(r.answer(b"PING"), Outcome::Later(std::time::Duration::from_millis(250), b"PONG\n".to_vec()));
        let bad = |l: &str| Rules::parse(&[l.to_string()], TextEncoding::UTF8).unwrap_err();
        assert!(bad("any => after x OK").contains("milliseconds"), "{}", bad("any => after x OK"));
        assert!(bad("any => after 0 OK").contains("milliseconds"));
        assert!(bad("any => after 10").contains("delays a reply"));
        assert!(bad("any => after 10 close").contains("delays a reply"));
    }

    #[test]
    fn bad_rules_are_named() {
        let bad = |l: &str| Rules::parse(&[l.to_string()], TextEncoding::UTF8).unwrap_err();
        assert!(bad("prefix:AT").contains("MATCH => REPLY"));
        assert!(bad("start:AT => x").contains("is not a match"));
        assert!(bad("hex:0g => x").starts_with("rule 'hex:0g => x': 'g' at position 2"));
        assert!(bad("re:( => x").contains("bad regex"));
        assert!(bad("any => {crc99}").contains("no checksum is named 'crc99'"));
        assert!(bad("any => {echo").contains("never closed"));
        assert_eq!(Rules::lines_of("# a comment\n\nany => x\n  \n"), vec!["any => x".to_string()]);
    }

    /// A run's rules: given ones, then the file's; none at all is `None`; SIGHUP's reload
    /// and the UI's replace each bump the generation and say how many there are now; a
    /// file that no longer parses leaves the rules as they were.
    #[test]
    fn a_rule_set_loads_reloads_and_replaces() {
        let enc = TextEncoding::UTF8;
        assert!(RuleSet::load(&[], None, enc).unwrap().is_none());
        let given = vec!["text:a => A".to_string()];
        let only_given = RuleSet::load(&given, None, enc).unwrap().expect("one rule given");
        assert_eq!((only_given.file(), only_given.current().rules.len()), (None, 1));

        let path = std::env::temp_dir().join(format!("netassist-rules-{}.txt", std::process::id()));
        std::fs::write(&path, "# a device\n\ntext:b => B\n").unwrap();
        let set = RuleSet::load(&given, Some(&path), enc).unwrap().expect("rules");
        assert_eq!(set.file(), Some(path.as_path()));
        assert_eq!(set.current().answer(b"a"), Outcome::Reply(b"A".to_vec()));
        assert_eq!(set.current().answer(b"b"), Outcome::Reply(b"B".to_vec()));
        assert_eq!(set.generation(), 0);
        assert!(!set.current().is_empty());

        std::fs::write(&path, "text:c => C\ntext:d => D\n").unwrap();
        assert_eq!(set.reload(), Ok(3));
        assert_eq!(set.generation(), 1);
        assert_eq!(set.current().answer(b"b"), Outcome::NoMatch);
        assert_eq!(set.current().answer(b"d"), Outcome::Reply(b"D".to_vec()));

        std::fs::write(&path, "nonsense\n").unwrap();
        assert!(set.reload().unwrap_err().contains("nonsense"));
        assert_eq!((set.generation(), set.current().rules.len()), (1, 3), "the rules stay as they were");

        let lines: Vec<String> = ["text:x => X", "any => drop"].map(String::from).to_vec();
        assert_eq!(set.replace(&lines, enc), Ok(2));
        assert_eq!(set.generation(), 2);
        assert_eq!(set.current().answer(b"x"), Outcome::Reply(b"X".to_vec()));
        assert!(set.replace(&["nonsense".to_string()], enc).is_err());
        assert_eq!(set.current().rules.len(), 2);

        // An empty file still makes a set: SIGHUP may fill it later.
        std::fs::write(&path, "").unwrap();
        let later = RuleSet::load(&[], Some(&path), enc).unwrap().expect("a file to re-read");
        assert!(later.current().is_empty());
        std::fs::remove_file(&path).unwrap();
        let missing = RuleSet::load(&[], Some(&path), enc).unwrap_err();
        assert!(missing.starts_with("cannot read "), "{missing}");
    }

    #[test]
    fn contains_needs_the_bytes_somewhere() {
        let r = rules(&["contains:ab => yes", "contains: => empty"]);
        assert_eq!(r.answer(b"xaby"), Outcome::Reply(b"yes".to_vec()));
        assert_eq!(r.answer(b"xyz"), Outcome::Reply(b"empty".to_vec()), "only the empty needle is in every message");
        assert_eq!(rules(&["contains:ab => yes"]).answer(b"a b"), Outcome::NoMatch);
    }

    /// With UTF-8 a regex reads the bytes as they came, so a group can hold bytes that are
    /// not UTF-8 (a decoded regex could not even be written this way).
    #[test]
    fn utf8_regex_groups_are_the_bytes_themselves() {
        let r = rules(&["re:(?s-u)^(.*)$ => [{1}]"]);
        assert_eq!(r.answer(b"\xff\x01"), Outcome::Reply(b"[\xff\x01]".to_vec()));
    }

    #[test]
    fn unicode_escapes_and_placeholders_side_by_side() {
        let r = rules(&["text:a => \\u{4F60}{echo}\\u{597D}!", "hex:01 => hex: {echo}"]);
        assert_eq!(r.answer(b"a"), Outcome::Reply("你a好!".as_bytes().to_vec()));
        assert_eq!(r.answer(&[1]), Outcome::Reply(vec![1]));
        for bad in ["any => {0}", "any => {12}", "any => \\u{4F60"] {
            assert!(Rules::parse(&[bad.to_string()], TextEncoding::UTF8).is_err(), "{bad}");
        }
    }
}
