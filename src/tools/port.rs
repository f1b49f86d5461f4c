//! `netassist port N|NAME` and `netassist port --free`: what a port number means (the
//! lesson's classes and IANA's), which services it is known for, and who uses it here now.

use rust_i18n::t;
use std::io::{self, Write};

use crate::error::{Error, Result};
use crate::netinfo::ports::{
    BoundSocket, Service, bound_to, ephemeral_range, free_port, iana_class, ports_named, services,
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
            message: t!("port.out_of_range", n = n).into_owned(),
        });
    }
    let (all, from) = services();
    let ports = ports_named(arg, &all);
    if ports.is_empty() {
        return Err(Error::Argument {
            what: "port".into(),
            message: t!("port.no_service", arg = arg, from = from).into_owned(),
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
    let io = |e: io::Error| Error::Io { context: t!("ctx.cannot_write_the_output").into_owned(), source: e };
    if free {
        let port = free_port()
            .map_err(|e| Error::Io { context: t!("ctx.cannot_find_a_free_port").into_owned(), source: e })?;
        return if json { writeln!(out, "{{\"port\":{port}}}") } else { writeln!(out, "{port}") }.map_err(io);
    }
    let Some(arg) = arg else {
        return Err(Error::Argument { what: "port".into(), message: t!("port.give_one").into_owned() });
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

/// A report's label, padded to one column whatever the language.
fn label(text: &str) -> String {
    format!("  {}", crate::render::padded(text, 21))
}

pub fn write_human(out: &mut dyn Write, r: &PortReport) -> io::Result<()> {
    let p = r.port;
    writeln!(out, "{}", t!("port.port", p = p))?;
    let (class, lesson) = if p == 0 {
        (t!("port.class_well_known"), t!("port.zero"))
    } else if p <= 1023 {
        (t!("port.class_well_known"), t!("port.well_known"))
    } else {
        (t!("port.class_dynamic"), t!("port.dynamic"))
    };
    writeln!(out, "{}{class}: {lesson}", label(&t!("port.lesson_class")))?;
    let iana = match p {
        0..=1023 => t!("port.iana_system"),
        1024..=49151 => t!("port.iana_registered"),
        _ => t!("port.iana_dynamic"),
    };
    writeln!(out, "{}{iana}", label(&t!("port.iana_range")))?;
    let names = service_names(r);
    let services = label(&t!("port.service_names"));
    let from = match r.services_from {
        crate::netinfo::ports::EMBEDDED_NAME => t!("ports.embedded"),
        file => file.into(),
    };
    if names.is_empty() {
        writeln!(out, "{services}{}", t!("port.no_names", from = from))?;
    } else {
        writeln!(out, "{services}{}", t!("port.names", names = names.join(", "), from = from))?;
    }
    if let Some((lo, hi)) = r.ephemeral {
        let inside = if (lo..=hi).contains(&p) { t!("port.inside", p = p) } else { t!("port.outside", p = p) };
        writeln!(
            out,
            "{}{}",
            label(&t!("port.client_ports")),
            t!("port.ephemeral", lo = lo, hi = hi, inside = inside)
        )?;
    }
    for proto in ["tcp", "udp"] {
        let here = label(&t!("port.here_now", proto = proto));
        let sockets: Vec<&BoundSocket> = r.bound.iter().filter(|s| s.proto == proto).collect();
        if sockets.is_empty() {
            let what = if proto == "tcp" { t!("port.nothing_listens") } else { t!("port.nothing_bound") };
            writeln!(out, "{here}{}", t!("port.free", what = what))?;
        } else if sockets.iter().all(|s| s.remote.is_some()) {
            writeln!(out, "{here}{}", t!("port.used_by_connections"))?;
        }
        for s in sockets {
            if let Some(remote) = s.remote {
                let note = if s.state == "TIME-WAIT" { t!("port.time_wait") } else { "".into() };
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
                (Some(pid), Some(name)) => {
                    t!("port.by_pid", pid = pid, name = crate::render::escape::shown_name(name)).into_owned()
                }
                _ => t!("port.by_whom").into_owned(),
            };
            writeln!(
                out,
                "{here}{}",
                t!("port.bound", state = s.state, local = crate::net::show_addr(&s.local), who = who)
            )?;
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
