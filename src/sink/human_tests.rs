//! The human view's lines, checked exactly.
use super::*;
use crate::sink::testing::Shared;
use bytes::Bytes;
use std::time::Duration;

fn view(show: Show, encoding: &str) -> (Human, Shared, Shared) {
    let (out, err) = (Shared::default(), Shared::default());
    let opts = ViewOptions {
        max_show: None,
        lines: false,
        show,
        encoding: TextEncoding::from_name(encoding).unwrap(),
        timestamps: false,
        explain: false,
        relay: false,
        raw_reads: true,
    };
    let human = Human::new(Box::new(out.clone()), Box::new(err.clone()), opts, false, false);
    (human, out, err)
}

fn data(id: ConnId, dir: Dir, bytes: &[u8]) -> Event {
    Event::now(EventKind::Data {
        id,
        peer: "127.0.0.1:5000".parse::<std::net::SocketAddr>().unwrap().into(),
        dir,
        bytes: Bytes::copy_from_slice(bytes),
        mark: crate::event::Mark::None,
    })
}

#[test]
fn gbk_split_across_reads_prints_whole_on_the_second_line() {
    let (mut h, out, _) = view(Show::Text, "gbk");
    h.event(&data(1, Dir::In, &[0xc4])).unwrap();
    h.event(&data(1, Dir::In, &[0xe3, 0xba, 0xc3])).unwrap();
    assert_eq!(out.text(), "#1 recv 1 byte: \n#1 recv 3 bytes: 你好\n");
}

#[test]
fn directions_and_connections_decode_apart() {
    let (mut h, out, _) = view(Show::Text, "utf-8");
    let ni = "你".as_bytes();
    h.event(&data(1, Dir::In, &ni[..1])).unwrap();
    h.event(&data(2, Dir::In, b"x")).unwrap();
    h.event(&data(1, Dir::Out, b"y")).unwrap();
    h.event(&data(1, Dir::In, &ni[1..])).unwrap();
    assert_eq!(out.text(), "#1 recv 1 byte: \n#2 recv 1 byte: x\n#1 sent 1 byte: y\n#1 recv 2 bytes: 你\n");
}

#[test]
fn hostile_bytes_are_escaped() {
    let (mut h, out, _) = view(Show::Text, "utf-8");
    h.event(&data(1, Dir::In, b"\x1b]0;owned\x07\x1b[2J\xff\r\n")).unwrap();
    assert_eq!(out.text(), "#1 recv 17 bytes: \\x1b]0;owned\\x07\\x1b[2J\\xff\\r\\n\n");
}

#[test]
fn hex_and_both() {
    let (mut h, out, _) = view(Show::Both, "utf-8");
    h.event(&data(3, Dir::Out, b"ok\n")).unwrap();
    assert_eq!(
        out.text(),
        "#3 sent 3 bytes: ok\\n\n    0000  6f 6b 0a                                          |ok.|\n"
    );
}

#[test]
fn a_character_cut_off_at_close_is_shown() {
    let (mut h, out, _) = view(Show::Text, "utf-8");
    h.event(&data(1, Dir::In, &"你".as_bytes()[..2])).unwrap();
    h.event(&Event::now(EventKind::Closed {
        id: 1,
        peer: "127.0.0.1:5000".parse::<std::net::SocketAddr>().unwrap().into(),
        reason: CloseReason::PeerClosed,
        counters: Counters { bytes_in: 2, msgs_in: 1, ..Counters::default() },
        duration: Duration::from_millis(1500),
    }))
    .unwrap();
    assert_eq!(
        out.text(),
        "#1 recv 2 bytes: \n#1 closed: peer closed the connection (recv returned 0 bytes); \
         2 bytes in (1 msg), 0 bytes out (0 msgs) after 1.5s; in ended inside a character: \\xe4\\xbd\n"
    );
}

#[test]
fn relay_lines_show_the_direction() {
    let (mut h, out, _) = view(Show::Len, "utf-8");
    h.opts.relay = true;
    h.event(&data(2, Dir::C2T, b"abc")).unwrap();
    h.event(&data(2, Dir::T2C, b"x")).unwrap();
    h.event(&Event::now(EventKind::HalfClosed { id: 2, dir: Dir::C2T })).unwrap();
    assert_eq!(
        out.text(),
        "#2 c->t 3 bytes\n#2 t->c 1 byte\n#2 FIN from the client, passed on to the target: no more bytes client->target\n"
    );
}

#[test]
fn errors_go_to_stderr() {
    let (mut h, out, err) = view(Show::Text, "utf-8");
    let notice = crate::notice::Notice::NoSuchClient(4);
    h.event(&Event::now(EventKind::Error { id: Some(4), notice })).unwrap();
    assert_eq!(out.text(), "");
    assert_eq!(err.text(), "error: #4 no client #4; :list shows who is connected\n");
}
