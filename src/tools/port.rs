//! `netassist port N|NAME` and `netassist port --free`: what a port number means (the
//! lesson's classes and IANA's), which services it is known for, and who uses it here now.

use std::io::{self, Write};

use crate::error::{Error, Result};
use crate::netinfo::ports::{
    BoundSocket, Service, bound_to, ephemeral_range, free_port, iana_class, lesson_class, ports_named, services,
};
use crate::sink::json::{JsonObject, push_json_string};

/// Everything known about one port.
#[derive(Debug, Clone)]
pub struct PortReport {
    pub port: u16,
    pub services: Vec<Service>,
    pub services_from: &'static str,
    /// The range the OS picks client ports from, if it says.
    pub ephemeral: Option<(u16, u16)>,
    pub bound: Vec<BoundSocket>,
}

/// The ports a typed argument stands for: a number, or a service name.
pub fn ports_for(arg: &str) -> Result<Vec<u16>> {
    let arg = arg.trim();
    if let Ok(n) = arg.parse::<u64>() {
        return u16::try_from(n).map(|p| vec![p]).map_err(|_| Error::Argument {
            what: "port".into(),
            message: format!("{n} is out of range; a port is a number from 0 to 65535"),
        });
    }
    let (all, from) = services();
    let ports = ports_named(arg, &all);
    if ports.is_empty() {
        return Err(Error::Argument {
            what: "port".into(),
            message: format!(
                "no service is named '{arg}' in {from}; give a port number (0-65535) or a name like http, ssh, mqtt"
            ),
        });
    }
    Ok(ports)
}

pub fn report(port: u16) -> PortReport {
    let (all, from) = services();
    PortReport {
        port,
        services: all.into_iter().filter(|s| s.port == port).collect(),
        services_from: from,
        ephemeral: ephemeral_range(),
        bound: bound_to(port),
    }
}

pub fn run(out: &mut dyn Write, arg: Option<&str>, free: bool, json: bool) -> Result<()> {
    let io = |e: io::Error| Error::Io { context: "cannot write the output".into(), source: e };
    if free {
        let port = free_port().map_err(|e| Error::Io { context: "cannot find a free port".into(), source: e })?;
        return if json { writeln!(out, "{{\"port\":{port}}}") } else { writeln!(out, "{port}") }.map_err(io);
    }
    let Some(arg) = arg else {
        return Err(Error::Argument {
            what: "port".into(),
            message: "give a port number or a service name (netassist port 80, netassist port http), or --free".into(),
        });
    };
    for port in ports_for(arg)? {
        let r = report(port);
        if json { writeln!(out, "{}", to_json(&r)) } else { write_human(out, &r) }.map_err(io)?;
    }
    Ok(())
}

fn service_names(r: &PortReport) -> Vec<String> {
    let mut names: Vec<String> = r
        .services
        .iter()
        .map(|s| {
            let aliases = if s.aliases.is_empty() { String::new() } else { format!(", also {}", s.aliases.join(", ")) };
            format!("{} ({}{aliases})", s.name, s.proto)
        })
        .collect();
    names.dedup();
    names
}

pub fn write_human(out: &mut dyn Write, r: &PortReport) -> io::Result<()> {
    let p = r.port;
    writeln!(out, "port {p}")?;
    let lesson = if p == 0 {
        "not a port to reach: bind() to port 0 asks the OS to pick a free port (netassist listen 0 prints the one it got)"
    } else if p <= 1023 {
        "given to well-known services, like 21 to FTP, 25 to SMTP, 80 to HTTP; binding one needs root"
    } else {
        "for the programs developers write; the OS also picks client ports from this range"
    };
    writeln!(out, "  the lesson's class:  {}: {lesson}", lesson_class(p))?;
    writeln!(out, "  IANA's range:        {}", iana_class(p))?;
    let names = service_names(r);
    if names.is_empty() {
        writeln!(out, "  service names:       none in {}", r.services_from)?;
    } else {
        writeln!(out, "  service names:       {} (from {})", names.join(", "), r.services_from)?;
    }
    if let Some((lo, hi)) = r.ephemeral {
        let inside = if (lo..=hi).contains(&p) {
            format!("{p} is inside it: the OS may give it to any client that connects without bind()")
        } else {
            format!("{p} is outside it")
        };
        writeln!(out, "  client ports here:   the OS picks them from {lo}-{hi}; {inside}")?;
    }
    for proto in ["tcp", "udp"] {
        let sockets: Vec<&BoundSocket> = r.bound.iter().filter(|s| s.proto == proto).collect();
        if sockets.is_empty() {
            let what = if proto == "tcp" { "nothing listens" } else { "nothing is bound" };
            writeln!(out, "  {proto} here now:        {what}; the port is free")?;
        } else if sockets.iter().all(|s| s.remote.is_some()) {
            writeln!(
                out,
                "  {proto} here now:        nothing listens, but connections use it as their local port (they can keep a server from binding it):"
            )?;
        }
        for s in sockets {
            if let Some(remote) = s.remote {
                let note = if s.state == "TIME-WAIT" {
                    " (closed; the OS keeps it about a minute so late packets find no new connection)"
                } else {
                    ""
                };
                writeln!(
                    out,
                    "    {} {} <-> {}{note}",
                    s.state,
                    crate::net::show_addr(&s.local),
                    crate::net::show_addr(&remote)
                )?;
                continue;
            }
            let who = match (&s.pid, &s.process) {
                (Some(pid), Some(name)) => format!(" by pid {pid} ({})", crate::render::escape::shown_name(name)),
                _ => " (the OS does not say by whom: try as root)".into(),
            };
            writeln!(out, "  {proto} here now:        {} on {}{who}", s.state, crate::net::show_addr(&s.local))?;
        }
    }
    Ok(())
}

fn to_json(r: &PortReport) -> String {
    let mut o = JsonObject::plain();
    o.num("port", r.port);
    o.str("lesson_class", if r.port <= 1023 { "well-known" } else { "dynamic" });
    o.str("iana_class", iana_class(r.port).split(' ').next().unwrap_or_default());
    let services: Vec<String> = r
        .services
        .iter()
        .map(|s| {
            let mut x = JsonObject::plain();
            x.str("name", &s.name).str("proto", &s.proto);
            let mut aliases = String::from("[");
            for (i, a) in s.aliases.iter().enumerate() {
                if i > 0 {
                    aliases.push(',');
                }
                push_json_string(&mut aliases, a);
            }
            aliases.push(']');
            x.raw("aliases", &aliases);
            x.finish()
        })
        .collect();
    o.raw("services", &format!("[{}]", services.join(",")));
    if let Some((lo, hi)) = r.ephemeral {
        o.raw("ephemeral_range", &format!("[{lo},{hi}]"));
        o.bool("ephemeral", (lo..=hi).contains(&r.port));
    }
    let bound: Vec<String> = r
        .bound
        .iter()
        .map(|s| {
            let mut x = JsonObject::plain();
            x.str("proto", s.proto).str("addr", &crate::net::show_addr(&s.local)).str("state", s.state);
            if let Some(remote) = &s.remote {
                x.str("remote", &crate::net::show_addr(remote));
            }
            if let Some(pid) = s.pid {
                x.num("pid", pid);
            }
            if let Some(name) = &s.process {
                x.str("process", name);
            }
            x.finish()
        })
        .collect();
    o.raw("bound", &format!("[{}]", bound.join(",")));
    o.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names() {
        assert_eq!(ports_for("8080").unwrap(), vec![8080]);
        assert!(ports_for("70000").unwrap_err().to_string().contains("70000 is out of range"));
        assert!(ports_for("no-such-service-xyz").unwrap_err().to_string().contains("no service is named"));
        assert!(ports_for("http").unwrap().contains(&80));
    }

    #[test]
    fn a_port_in_use_names_its_process() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let mut out = Vec::new();
        write_human(&mut out, &report(port)).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains(&format!("tcp here now:        listening on 127.0.0.1:{port} by pid {}", std::process::id())),
            "{text}"
        );
        assert!(text.contains("udp here now:        nothing is bound"), "{text}");
    }
}
