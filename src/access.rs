//! Who may connect: `--allow` and `--deny` networks (CIDR), from the command line and from
//! files. A deny rule wins over an allow rule; with any allow rule, a peer must match one.
//! IPv4 clients of a dual-stack socket (`::ffff:a.b.c.d`) match IPv4 rules.

use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;

use crate::error::{Error, Result};
use crate::notice::Rejection;

#[derive(Debug, Clone, Default)]
pub struct Access {
    allow: Vec<IpNet>,
    deny: Vec<IpNet>,
}

/// A network as people write it: `10.0.0.0/8`, `192.168.1.7` (one host), `fe80::/10`,
/// `::ffff:10.0.0.0/104` (read as `10.0.0.0/8`).
pub fn parse_net(text: &str) -> std::result::Result<IpNet, String> {
    let text = text.trim();
    let net = match text.parse::<IpNet>() {
        Ok(net) => net,
        Err(_) => text.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
            format!("'{text}' is not an address or a network (write 10.0.0.0/8, 192.168.1.7 or fe80::/10)")
        })?,
    };
    // An IPv4-mapped IPv6 network is the IPv4 network it maps.
    if let IpNet::V6(v6) = net
        && let (Some(v4), true) = (v6.addr().to_ipv4_mapped(), v6.prefix_len() >= 96)
    {
        return Ok(IpNet::new(IpAddr::V4(v4), v6.prefix_len() - 96).expect("a prefix of 0-32"));
    }
    Ok(net.trunc())
}

/// Networks from a file: one per line; `#` starts a comment; blank lines are skipped.
pub fn read_nets(path: &Path, what: &str) -> Result<Vec<IpNet>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::File { path: path.to_path_buf(), source })?;
    text.lines()
        .enumerate()
        .filter_map(|(n, line)| {
            let line = line.split('#').next().unwrap_or_default().trim();
            (!line.is_empty()).then(|| {
                parse_net(line).map_err(|message| Error::Argument {
                    what: what.into(),
                    message: format!("{} line {}: {message}", path.display(), n + 1),
                })
            })
        })
        .collect()
}

impl Access {
    pub fn new(allow: Vec<IpNet>, deny: Vec<IpNet>) -> Access {
        Access { allow, deny }
    }

    pub fn is_open(&self) -> bool {
        self.allow.is_empty() && self.deny.is_empty()
    }

    /// Whether `ip` may connect; if not, why (naming the rule).
    /// Whether any rule was given.
    pub fn limits(&self) -> bool {
        !self.allow.is_empty() || !self.deny.is_empty()
    }

    pub fn check(&self, ip: IpAddr) -> std::result::Result<(), Rejection> {
        let ip = ip.to_canonical();
        if let Some(rule) = self.deny.iter().find(|n| n.contains(&ip)) {
            return Err(Rejection::Denied { rule: rule.to_string() });
        }
        if !self.allow.is_empty() && !self.allow.iter().any(|n| n.contains(&ip)) {
            let shown = self.allow.iter().take(4).map(ToString::to_string).collect();
            return Err(Rejection::NotAllowed { shown, more: self.allow.len() > 4 });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(allow: &[&str], deny: &[&str]) -> Access {
        let nets = |v: &[&str]| v.iter().map(|s| parse_net(s).unwrap()).collect();
        Access::new(nets(allow), nets(deny))
    }

    #[test]
    fn networks_as_people_write_them() {
        assert_eq!(parse_net("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse_net("192.168.1.7").unwrap().to_string(), "192.168.1.7/32");
        assert_eq!(parse_net("::ffff:10.0.0.0/104").unwrap().to_string(), "10.0.0.0/8");
        assert!(parse_net("10.0.0.0/33").is_err());
        assert!(parse_net("lan").unwrap_err().contains("'lan' is not an address"));
    }

    #[test]
    fn deny_wins_and_allow_limits() {
        let a = access(&["127.0.0.0/8", "::1"], &["127.0.0.2"]);
        assert!(a.check("127.0.0.1".parse().unwrap()).is_ok());
        assert!(a.check("::1".parse().unwrap()).is_ok());
        assert_eq!(
            a.check("127.0.0.2".parse().unwrap()).unwrap_err(),
            Rejection::Denied { rule: "127.0.0.2/32".into() }
        );
        assert_eq!(
            a.check("10.0.0.1".parse().unwrap()).unwrap_err(),
            Rejection::NotAllowed { shown: vec!["127.0.0.0/8".into(), "::1/128".into()], more: false }
        );
        // An IPv4 client of a dual-stack socket matches IPv4 rules.
        assert!(a.check("::ffff:127.0.0.1".parse().unwrap()).is_ok());
        assert!(a.check("::ffff:127.0.0.2".parse().unwrap()).is_err());
        assert!(access(&[], &[]).check("8.8.8.8".parse().unwrap()).is_ok());
    }
}
