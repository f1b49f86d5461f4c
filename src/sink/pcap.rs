//! A capture file Wireshark and tshark open (pcapng), built from events: Ethernet +
//! IPv4/IPv6 + TCP/UDP headers (with checksums, by etherparse) around the bytes that passed,
//! with the real addresses and ports of each leg, consistent sequence and acknowledgement
//! numbers, a handshake at the start and FIN or RST at the end, timestamps as seen. A leg
//! without IP addresses (a Unix socket) gets made-up loopback ones, and its first packet a
//! comment naming the socket (as a proxy client's target is named on its leg's first packet).
//!
//! A relay connection has two legs: client <-> relay (the accepted socket) and relay <->
//! target (the socket the relay opened). A server or client connection has one. The file is
//! flushed whenever the writer catches up, so a run that is stopped leaves a valid file.

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use etherparse::{PacketBuilder, PacketBuilderStep, TcpHeader};

use super::Sink;
use crate::event::{CloseReason, ConnId, Dir, Event, EventKind, Proto, Side};

/// Bytes of an Enhanced Packet Block's header (type, length, interface, time, captured and
/// original length) in front of each packet.
const RECORD_HEADER: usize = 28;
/// The largest TCP payload put in one packet (IP's length fields are 16 bits).
const SEGMENT: usize = 32 * 1024;
const WINDOW: u16 = 65_535;
/// The synthetic MAC addresses: locally administered, one per end of a leg.
const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];

/// One TCP (or UDP) conversation between two addresses.
struct Leg {
    proto: Proto,
    /// The end that opened it (the client, or the relay towards the target).
    a: SocketAddr,
    b: SocketAddr,
    /// Next sequence number each end sends.
    seq_a: u32,
    seq_b: u32,
    fin_a: bool,
    fin_b: bool,
    /// Said on the leg's first packet (a Unix socket's path, a proxy client's target).
    comment: Option<String>,
}

#[derive(Default)]
struct Conversation {
    /// The accepted connection: a = client, b = us.
    accepted: Option<Leg>,
    /// The connection we opened: a = us, b = the server or target.
    initiated: Option<Leg>,
}

pub struct Pcap {
    out: Box<dyn Write + Send>,
    conversations: HashMap<ConnId, Conversation>,
    packet: Vec<u8>,
    next_isn: u32,
}

impl Pcap {
    pub fn create(path: &Path) -> io::Result<Pcap> {
        // Whole packets only reach the file: a full disk cuts it on a packet boundary.
        Pcap::new(Box::new(super::Records::create(path)?))
    }

    pub fn new(mut out: Box<dyn Write + Send>) -> io::Result<Pcap> {
        // pcapng's Section Header Block (version 1.0, length unknown), then one Interface
        // Description Block: Ethernet links, microsecond timestamps (the default). One write.
        let mut header = Vec::with_capacity(48);
        for word in [0x0a0d_0d0au32, 28, 0x1a2b_3c4d, 1, 0xffff_ffff, 0xffff_ffff, 28] {
            header.extend_from_slice(&word.to_le_bytes());
        }
        for word in [1u32, 20, 1, 262_144, 20] {
            header.extend_from_slice(&word.to_le_bytes());
        }
        out.write_all(&header)?;
        Ok(Pcap { out, conversations: HashMap::new(), packet: Vec::with_capacity(70_000), next_isn: 1_000 })
    }

    fn isn(&mut self) -> u32 {
        // Different for each side and leg, to make the streams easy to tell apart.
        self.next_isn = self.next_isn.wrapping_add(100_000);
        self.next_isn
    }

    /// Writes the packet built in `self.packet` as an Enhanced Packet Block; `cut` bytes of
    /// it did not fit and count only in its original length; `comment` goes with it.
    fn record(&mut self, time: SystemTime, cut: usize, comment: Option<&str>) -> io::Result<()> {
        let micros = time.duration_since(UNIX_EPOCH).unwrap_or_default().as_micros() as u64;
        let len = (self.packet.len() - RECORD_HEADER) as u32;
        let pad = |p: &mut Vec<u8>| p.resize(p.len().next_multiple_of(4), 0);
        pad(&mut self.packet);
        if let Some(text) = comment {
            // opt_comment (1), then opt_endofopt.
            let text = &text.as_bytes()[..text.len().min(4096)];
            self.packet.extend_from_slice(&1u16.to_le_bytes());
            self.packet.extend_from_slice(&(text.len() as u16).to_le_bytes());
            self.packet.extend_from_slice(text);
            pad(&mut self.packet);
            self.packet.extend_from_slice(&[0; 4]);
        }
        let total = (self.packet.len() + 4) as u32;
        self.packet.extend_from_slice(&total.to_le_bytes());
        // The block header goes in front of the packet, and the whole block is one write:
        // the file below keeps or drops it whole.
        let header = [6, total, 0, (micros >> 32) as u32, micros as u32, len, len + cut as u32];
        for (i, word) in header.iter().enumerate() {
            self.packet[i * 4..i * 4 + 4].copy_from_slice(&word.to_le_bytes());
        }
        self.out.write_all(&self.packet)
    }

    /// Writes one packet on `leg`, from its `a` end when `from_a`.
    fn packet(
        &mut self,
        time: SystemTime,
        leg: &mut Leg,
        from_a: bool,
        flags: Flags,
        payload: &[u8],
    ) -> io::Result<()> {
        self.packet_cut(time, leg, from_a, flags, payload, 0)
    }

    /// As [`Pcap::packet`], for a payload `cut` bytes shorter than what passed.
    fn packet_cut(
        &mut self,
        time: SystemTime,
        leg: &mut Leg,
        from_a: bool,
        flags: Flags,
        payload: &[u8],
        cut: usize,
    ) -> io::Result<()> {
        let (src, dst) = if from_a { (leg.a, leg.b) } else { (leg.b, leg.a) };
        let (mac_src, mac_dst) = if from_a { (MAC_A, MAC_B) } else { (MAC_B, MAC_A) };
        let ip = ip_step(PacketBuilder::ethernet2(mac_src, mac_dst), src.ip(), dst.ip());
        self.packet.clear();
        self.packet.resize(RECORD_HEADER, 0);
        let written = match leg.proto {
            Proto::Udp => ip.udp(src.port(), dst.port()).write(&mut self.packet, payload),
            Proto::Tcp | Proto::Unix => {
                let (seq, ack) = if from_a { (leg.seq_a, leg.seq_b) } else { (leg.seq_b, leg.seq_a) };
                let mut header = TcpHeader::new(src.port(), dst.port(), seq, WINDOW);
                header.syn = flags.syn;
                header.fin = flags.fin;
                header.rst = flags.rst;
                header.psh = !payload.is_empty();
                // Every packet but the first SYN acknowledges what the other end sent.
                if flags.ack {
                    header.ack = true;
                    header.acknowledgment_number = ack;
                }
                let advance = payload.len() as u32 + u32::from(flags.syn) + u32::from(flags.fin);
                if from_a {
                    leg.seq_a = leg.seq_a.wrapping_add(advance);
                } else {
                    leg.seq_b = leg.seq_b.wrapping_add(advance);
                }
                ip.tcp_header(header).write(&mut self.packet, payload)
            }
        };
        written.map_err(|e| io::Error::other(format!("cannot build a capture packet: {e}")))?;
        let comment = leg.comment.take();
        self.record(time, cut, comment.as_deref())
    }

    fn handshake(&mut self, time: SystemTime, leg: &mut Leg) -> io::Result<()> {
        let start = |syn, ack| Flags { syn, ack, ..Flags::default() };
        self.packet(time, leg, true, start(true, false), &[])?;
        self.packet(time, leg, false, start(true, true), &[])?;
        self.packet(time, leg, true, start(false, true), &[])
    }

    fn data(&mut self, time: SystemTime, leg: &mut Leg, from_a: bool, bytes: &[u8]) -> io::Result<()> {
        if leg.proto == Proto::Udp {
            // A datagram larger than this leg's IP can carry (the legs may differ in family)
            // is captured cut short, with its whole length on record.
            let fits = if leg.a.is_ipv4() && leg.b.is_ipv4() { 65_507 } else { 65_527 };
            let cut = bytes.len().saturating_sub(fits);
            return self.packet_cut(time, leg, from_a, Flags::default(), &bytes[..bytes.len() - cut], cut);
        }
        for segment in bytes.chunks(SEGMENT) {
            self.packet(time, leg, from_a, Flags::ack(), segment)?;
        }
        Ok(())
    }

    fn fin(&mut self, time: SystemTime, leg: &mut Leg, from_a: bool) -> io::Result<()> {
        let sent = if from_a { &mut leg.fin_a } else { &mut leg.fin_b };
        if leg.proto == Proto::Udp || *sent {
            return Ok(());
        }
        *sent = true;
        self.packet(time, leg, from_a, Flags { fin: true, ..Flags::ack() }, &[])
    }

    fn rst(&mut self, time: SystemTime, leg: &mut Leg, from_a: bool) -> io::Result<()> {
        if leg.proto == Proto::Udp {
            return Ok(());
        }
        leg.fin_a = true;
        leg.fin_b = true;
        self.packet(time, leg, from_a, Flags { rst: true, ..Flags::ack() }, &[])
    }

    /// Where bytes flowing in `dir` go: on which leg, from which end. The relay writes them
    /// on both legs: in on one, out on the other.
    fn route(dir: Dir) -> [(bool, bool); 2] {
        // (on the accepted leg?, from its a end?)
        match dir {
            // Client -> relay, then relay -> target.
            Dir::C2T => [(true, true), (false, true)],
            // Target -> relay, then relay -> client.
            Dir::T2C => [(false, false), (true, false)],
            // To us: from the accepted leg's client, or the initiated leg's server.
            Dir::In => [(true, true), (false, false)],
            Dir::Out => [(true, false), (false, true)],
        }
    }

    fn on_legs(
        &mut self,
        id: ConnId,
        dir: Dir,
        mut each: impl FnMut(&mut Pcap, &mut Leg, bool) -> io::Result<()>,
    ) -> io::Result<()> {
        let Some(mut conv) = self.conversations.remove(&id) else { return Ok(()) };
        let mut result = Ok(());
        for (accepted, from_a) in Pcap::route(dir) {
            let leg = if accepted { conv.accepted.as_mut() } else { conv.initiated.as_mut() };
            if let Some(leg) = leg {
                result = result.and_then(|()| each(self, leg, from_a));
            }
        }
        self.conversations.insert(id, conv);
        result
    }

    fn close(&mut self, time: SystemTime, id: ConnId, reason: &CloseReason) -> io::Result<()> {
        let Some(mut conv) = self.conversations.remove(&id) else { return Ok(()) };
        let mut result = Ok(());
        match reason {
            // The client's reset, passed on to the target by the relay.
            CloseReason::ClientReset => {
                for (leg, from_a) in [(conv.accepted.as_mut(), true), (conv.initiated.as_mut(), true)] {
                    if let Some(leg) = leg {
                        result = result.and_then(|()| self.rst(time, leg, from_a));
                    }
                }
            }
            CloseReason::TargetReset => {
                for (leg, from_a) in [(conv.initiated.as_mut(), false), (conv.accepted.as_mut(), false)] {
                    if let Some(leg) = leg {
                        result = result.and_then(|()| self.rst(time, leg, from_a));
                    }
                }
            }
            CloseReason::Reset => {
                if let Some(leg) = conv.accepted.as_mut() {
                    result = self.rst(time, leg, true);
                } else if let Some(leg) = conv.initiated.as_mut() {
                    result = self.rst(time, leg, false);
                }
            }
            // Closed with FIN: ours first, then the other end's.
            _ => {
                for (leg, ours_from_a) in [(conv.accepted.as_mut(), false), (conv.initiated.as_mut(), true)] {
                    if let Some(leg) = leg {
                        result = result
                            .and_then(|()| self.fin(time, leg, ours_from_a))
                            .and_then(|()| self.fin(time, leg, !ours_from_a));
                    }
                }
            }
        }
        result
    }
}

#[derive(Clone, Copy, Default)]
struct Flags {
    syn: bool,
    ack: bool,
    fin: bool,
    rst: bool,
}

impl Flags {
    fn ack() -> Flags {
        Flags { ack: true, ..Flags::default() }
    }
}

/// The IP step for two addresses; an IPv4 and an IPv6 end are both written as IPv6.
fn ip_step(
    eth: PacketBuilderStep<etherparse::Ethernet2Header>,
    src: IpAddr,
    dst: IpAddr,
) -> PacketBuilderStep<etherparse::IpHeaders> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => eth.ipv4(s.octets(), d.octets(), 64),
        (s, d) => eth.ipv6(v6(s), v6(d), 64),
    }
}

fn v6(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

impl Sink for Pcap {
    fn event(&mut self, event: &Event) -> io::Result<()> {
        let t = event.time;
        match &event.kind {
            EventKind::Connected { id, proto, peer, local, side, .. } => {
                // An end without an IP address of its own (a Unix socket) gets a made-up
                // loopback one, a port per connection, so that tshark still follows it.
                let made_up = |host: u8| SocketAddr::from(([127, 0, 0, host], 10_000 + (*id % 50_000) as u16));
                let comment = match (peer, local) {
                    (crate::event::Peer::Unix { .. } | crate::event::Peer::Named { .. }, _) => Some(peer.to_string()),
                    (_, crate::event::Peer::Unix { .. }) => Some(local.to_string()),
                    _ => None,
                };
                let peer = peer.ip().unwrap_or_else(|| made_up(2));
                let local = local.ip().unwrap_or_else(|| made_up(3));
                let (a, b) = match side {
                    Side::Accepted => (peer, local),
                    Side::Initiated => (local, peer),
                };
                let (seq_a, seq_b) = (self.isn(), self.isn());
                let mut leg = Leg { proto: *proto, a, b, seq_a, seq_b, fin_a: false, fin_b: false, comment };
                if *proto != Proto::Udp {
                    self.handshake(t, &mut leg)?;
                }
                let conv = self.conversations.entry(*id).or_default();
                match side {
                    Side::Accepted => conv.accepted = Some(leg),
                    Side::Initiated => conv.initiated = Some(leg),
                }
                Ok(())
            }
            EventKind::Data { id, dir, bytes, .. } => {
                self.on_legs(*id, *dir, |p, leg, from_a| p.data(t, leg, from_a, bytes))
            }
            EventKind::HalfClosed { id, dir } => self.on_legs(*id, *dir, |p, leg, from_a| p.fin(t, leg, from_a)),
            EventKind::Closed { id, reason, .. } => self.close(t, *id, reason),
            _ => Ok(()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Counters;
    use crate::sink::testing::Shared;
    use bytes::Bytes;
    use std::time::Duration;

    #[test]
    fn a_datagram_too_big_for_its_leg_is_captured_cut_short() {
        // Found by the pcap fuzz target: it made the writer fail, which would end the run.
        let out = Shared::default();
        let mut pcap = Pcap::new(Box::new(out.clone())).unwrap();
        let (peer, local): (crate::event::Peer, std::net::SocketAddr) =
            ("10.0.0.1:1000".parse().unwrap(), "10.0.0.2:2000".parse().unwrap());
        let event = |kind| Event { time: UNIX_EPOCH + Duration::from_secs(1), kind };
        pcap.event(&event(EventKind::Connected {
            id: 1,
            proto: Proto::Udp,
            peer: peer.clone(),
            local: local.into(),
            side: Side::Accepted,
            tls: None,
        }))
        .unwrap();
        let big = Bytes::from(vec![7u8; 70_000]);
        pcap.event(&event(EventKind::Data {
            id: 1,
            peer: peer.clone(),
            dir: Dir::In,
            bytes: big,
            mark: crate::event::Mark::None,
        }))
        .unwrap();
        pcap.event(&event(EventKind::Closed {
            id: 1,
            peer,
            reason: CloseReason::PeerClosed,
            counters: Counters::default(),
            duration: Duration::ZERO,
        }))
        .unwrap();
        let file = out.0.lock().unwrap().clone();
        // After the section and interface headers (48 bytes), the first packet's block.
        let word = |at: usize| u32::from_le_bytes(file[at..at + 4].try_into().unwrap());
        assert_eq!(word(48), 6, "an Enhanced Packet Block");
        let (incl, orig) = (word(48 + 20), word(48 + 24));
        assert_eq!((incl, orig), (14 + 20 + 8 + 65_507, 14 + 20 + 8 + 70_000));
        assert!(etherparse::SlicedPacket::from_ethernet(&file[48 + 28..48 + 28 + incl as usize]).is_ok());
    }
}
