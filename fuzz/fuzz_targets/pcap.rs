//! The capture writer: any sequence of events gives a pcapng file whose every packet parses
//! as Ethernet + IP + TCP/UDP, with the payloads written in order.
#![no_main]

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use netassist::event::{CloseReason, Counters, Dir, Event, EventKind, Proto, Side};
use netassist::sink::Sink;
use netassist::sink::pcap::Pcap;

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);
impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn addr(v6: bool, n: u8) -> SocketAddr {
    if v6 {
        SocketAddr::new([0, 0, 0, 0, 0, 0, 0, u16::from(n)].into(), 1000 + u16::from(n))
    } else {
        SocketAddr::new([10, 0, 0, n].into(), 1000 + u16::from(n))
    }
}

fuzz_target!(|data: &[u8]| {
    let out = Shared::default();
    let mut pcap = Pcap::new(Box::new(out.clone())).unwrap();
    let mut t = 0u64;
    let mut payload = 0usize;
    for op in data.chunks(3) {
        let (kind, id, arg) =
            (op[0] % 6, u64::from(op.get(1).copied().unwrap_or(0) % 4), op.get(2).copied().unwrap_or(0));
        t += 1;
        let time = UNIX_EPOCH + Duration::from_micros(t);
        let v6 = arg & 1 == 1;
        let dir = [Dir::In, Dir::Out, Dir::C2T, Dir::T2C][usize::from(arg % 4)];
        let event = match kind {
            0 => EventKind::Connected {
                id,
                proto: if arg & 2 == 0 { Proto::Tcp } else { Proto::Udp },
                peer: addr(v6, 1).into(),
                local: addr(v6, 2).into(),
                side: if arg & 4 == 0 { Side::Accepted } else { Side::Initiated },
                tls: None,
            },
            1 | 2 => {
                payload += usize::from(arg) * 300;
                EventKind::Data {
                    id,
                    peer: addr(v6, 1).into(),
                    dir,
                    bytes: Bytes::from(vec![arg; usize::from(arg) * 300]),
                    mark: netassist::event::Mark::None,
                }
            }
            3 => EventKind::HalfClosed { id, dir },
            4 => EventKind::Closed {
                id,
                peer: addr(v6, 1).into(),
                reason: [
                    CloseReason::PeerClosed,
                    CloseReason::ClientReset,
                    CloseReason::TargetReset,
                    CloseReason::Reset,
                ][usize::from(arg % 4)]
                .clone(),
                counters: Counters::default(),
                duration: Duration::ZERO,
            },
            _ => EventKind::Note(netassist::notice::Notice::NoClient),
        };
        pcap.event(&Event { time, kind: event }).unwrap();
    }
    pcap.flush().unwrap();
    let file = out.0.lock().unwrap().clone();
    let word = |at: usize| u32::from_le_bytes(file[at..at + 4].try_into().unwrap()) as usize;
    // pcapng: the section and interface headers, then one Enhanced Packet Block per packet.
    let mut at = 48;
    while at < file.len() {
        let total = word(at + 4);
        assert_eq!((word(at), word(at + total - 4)), (6, total), "a whole packet block");
        let len = word(at + 20);
        let packet = &file[at + 28..at + 28 + len];
        let sliced = etherparse::SlicedPacket::from_ethernet(packet).expect("every packet parses");
        assert!(sliced.net.is_some() && sliced.transport.is_some());
        at += total;
    }
    assert_eq!(at, file.len());
    let _ = payload;
});
