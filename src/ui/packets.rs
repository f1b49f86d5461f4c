//! Saved packets: named payloads in a file in the user's config directory, one per line,
//! `NAME = text:ESCAPED TEXT` or `NAME = hex:01 02 ff`, editable by hand.

use rust_i18n::t;
use std::path::PathBuf;

use super::app::Packet;

/// `$NETASSIST_CONFIG_DIR`, else `$XDG_CONFIG_HOME/netassist`, else `~/.config/netassist`.
pub fn path() -> Option<PathBuf> {
    path_in(|name| std::env::var_os(name))
}

/// [`path`] over any environment (a test's).
fn path_in(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    let dir = env("NETASSIST_CONFIG_DIR")
        .map(PathBuf::from)
        .or_else(|| env("XDG_CONFIG_HOME").map(|d| PathBuf::from(d).join("netassist")))
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".config").join("netassist")))?;
    Some(dir.join("packets.txt"))
}

pub fn parse(text: &str) -> Vec<Packet> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let (name, spec) = l.split_once('=')?;
            let (name, spec) = (name.trim(), spec.trim_start());
            (!name.is_empty() && !spec.is_empty()).then(|| Packet { name: name.into(), spec: spec.into() })
        })
        .collect()
}

pub fn format(packets: &[Packet]) -> String {
    let mut out = String::from("# netassist saved packets: NAME = text:ESCAPED TEXT  or  NAME = hex:01 02 ff\n");
    for p in packets {
        out.push_str(&format!("{} = {}\n", p.name, p.spec));
    }
    out
}

pub fn load() -> Vec<Packet> {
    path().and_then(|p| std::fs::read_to_string(p).ok()).map(|t| parse(&t)).unwrap_or_default()
}

pub fn save(packets: &[Packet]) -> Result<PathBuf, String> {
    let path = path().ok_or_else(|| t!("ui.no_config_dir").into_owned())?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(&path, format(packets)).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    #[test]
    fn packets_txt_is_looked_for_where_the_readme_says() {
        fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<std::ffi::OsString> {
            move |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| std::ffi::OsString::from(v))
        }
        const ALL: [(&str, &str); 3] = [("NETASSIST_CONFIG_DIR", "/n"), ("XDG_CONFIG_HOME", "/x"), ("HOME", "/h")];
        let all = ALL;
        assert_eq!(path_in(env(&all)), Some(PathBuf::from("/n/packets.txt")));
        assert_eq!(path_in(env(&all[1..])), Some(PathBuf::from("/x/netassist/packets.txt")));
        assert_eq!(path_in(env(&all[2..])), Some(PathBuf::from("/h/.config/netassist/packets.txt")));
        assert_eq!(path_in(env(&[])), None, "nowhere to keep them");
    }

    use super::*;

    #[test]
    fn round_trip() {
        let packets = vec![
            Packet { name: "login".into(), spec: r"text:AT+LOGIN=admin\r\n".into() },
            Packet { name: "ping".into(), spec: "hex:01 02 03".into() },
        ];
        assert_eq!(parse(&format(&packets)), packets);
        assert_eq!(parse("# c\nbad line\n= x\nk = v = w\n"), vec![Packet { name: "k".into(), spec: "v = w".into() }]);
    }
}
