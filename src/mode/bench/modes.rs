//! The benchmark's modes, one connection's loop each: ping-pong round trips, a stream with
//! a window in flight, connect-message-close churn, a one-way sink, UDP round trips. Every
//! byte that comes back is checked.

use super::*;

/// What one message is: a fixed payload (with the answer expected for it), or `len` bytes
/// of the connection's pattern from `pos`.
pub(super) enum Message<'a> {
    Fixed { out: &'a [u8], expect: &'a [u8] },
    Pattern { pos: u64, len: usize },
}

impl Message<'_> {
    fn new(config: &BenchConfig, pos: u64) -> Message<'_> {
        match &config.payload {
            Some(p) => Message::Fixed { out: p, expect: config.expect.as_deref().unwrap_or(p) },
            None => Message::Pattern { pos, len: config.len },
        }
    }

    fn sent_len(&self) -> usize {
        match self {
            Message::Fixed { out, .. } => out.len(),
            Message::Pattern { len, .. } => *len,
        }
    }

    fn answer_len(&self) -> usize {
        match self {
            Message::Fixed { expect, .. } => expect.len(),
            Message::Pattern { len, .. } => *len,
        }
    }

    /// Writes the message, the pattern in pieces of at most 64 KiB.
    async fn write<W: tokio::io::AsyncWrite + Unpin>(&self, w: &mut W, id: u64) -> io::Result<()> {
        match self {
            Message::Fixed { out, .. } => w.write_all(out).await,
            Message::Pattern { pos, len } => {
                let mut off = 0;
                while off < *len {
                    let piece = pattern(id, pos + off as u64, len - off);
                    w.write_all(piece).await?;
                    off += piece.len();
                }
                Ok(())
            }
        }
    }

    fn expected(&self) -> Option<&[u8]> {
        match self {
            Message::Fixed { expect, .. } => Some(expect),
            Message::Pattern { .. } => None,
        }
    }

    fn pos(&self) -> u64 {
        match self {
            Message::Fixed { .. } => 0,
            Message::Pattern { pos, .. } => *pos,
        }
    }
}

/// How long a connection that got a wrong answer waits before connecting again.
pub(super) const WRONG_PAUSE: Duration = Duration::from_millis(100);

/// Reads exactly `want` bytes, comparing them with `expect` (or the pattern from `pos`).
/// Returns the first difference on a mismatch.
pub(super) async fn read_checked(
    stream: &mut TcpStream,
    buf: &mut [u8],
    want: usize,
    expect: Option<&[u8]>,
    id: u64,
    pos: u64,
) -> io::Result<Result<(), Mismatch>> {
    let mut got = 0;
    while got < want {
        // A buffer larger than what is left: tokio then sees a short read and waits for
        // readiness instead of trying a read that would block.
        let n = stream.read(buf).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let take = n.min(want - got);
        // `buf` holds at most one pattern piece (64 KiB), so one compare covers it.
        let expected: &[u8] = match expect {
            Some(e) => &e[got..got + take],
            None => pattern(id, pos + got as u64, take),
        };
        if buf[..take] != *expected {
            return Ok(Err(Mismatch::new(expected, &buf[..take], got)));
        }
        if n > take {
            // More than was asked for.
            return Ok(Err(Mismatch::new(&[], &buf[take..n], want)));
        }
        got += take;
    }
    Ok(Ok(()))
}

pub(super) async fn pingpong(
    mut stream: TcpStream,
    id: u64,
    config: &BenchConfig,
    counts: &Counts,
    schedule: &mut Schedule,
) -> Stop {
    let mut buf = vec![0u8; CHUNK];
    let mut pos = 0u64;
    let deadline = schedule.deadline;
    loop {
        let Some(began) = schedule.next(config, id).await else { return Stop::Deadline };
        let msg = Message::new(config, pos);
        let (sent, want) = (msg.sent_len(), msg.answer_len());
        let round = async {
            msg.write(&mut stream, id).await?;
            read_checked(&mut stream, &mut buf, want, msg.expected(), id, msg.pos()).await
        };
        let limit = (Instant::now() + config.timeout).min(deadline);
        match tokio::time::timeout_at(limit, round).await {
            Err(_) if Instant::now() >= deadline => return Stop::Deadline,
            Err(_) => {
                counts.error(Failure::NoAnswer);
                return Stop::Lost;
            }
            Ok(Err(e)) => {
                counts.error(kind_of(&e));
                return Stop::Lost;
            }
            Ok(Ok(Err(wrong))) => {
                counts.mismatch(Some(wrong));
                return Stop::Wrong;
            }
            Ok(Ok(Ok(()))) => {
                counts.round(schedule.done(began), sent, want);
                pos += sent as u64;
            }
        }
    }
}

pub(super) async fn stream_mode(
    stream: TcpStream,
    id: u64,
    config: &BenchConfig,
    counts: &Counts,
    deadline: Instant,
) -> Stop {
    let window = config.window.max(1) as u64;
    let (mut sent, mut recvd) = (0u64, 0u64);
    let mut buf = vec![0u8; CHUNK];
    let mut sleep = std::pin::pin!(tokio::time::sleep_until(deadline));
    loop {
        tokio::select! {
            () = &mut sleep => return Stop::Deadline,
            ready = stream.readable() => {
                if ready.is_err() {
                    counts.error(Failure::Other);
                    return Stop::Lost;
                }
                match stream.try_read(&mut buf) {
                    Ok(0) => { counts.error(kind_of(&io::ErrorKind::UnexpectedEof.into())); return Stop::Lost; }
                    Ok(n) => {
                        if recvd + n as u64 > sent {
                            counts.mismatch(Some(Mismatch::new(&[], &buf[..n], 0)));
                            return Stop::Wrong;
                        }
                        if buf[..n] != *pattern(id, recvd, n) {
                            counts.mismatch(Some(Mismatch::new(pattern(id, recvd, n), &buf[..n], recvd as usize)));
                            return Stop::Wrong;
                        }
                        recvd += n as u64;
                        counts.bytes(0, n);
                        // Messages of --len bytes that came back whole (their bytes were
                        // counted as the kernel took them).
                        let before = (recvd - n as u64) / config.len as u64;
                        for _ in before..recvd / config.len as u64 {
                            counts.round(Duration::ZERO, 0, 0);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => { counts.error(kind_of(&e)); return Stop::Lost; }
                }
            }
            ready = stream.writable(), if sent - recvd < window => {
                if ready.is_err() {
                    counts.error(Failure::Other);
                    return Stop::Lost;
                }
                let room = (window - (sent - recvd)).min(CHUNK as u64) as usize;
                match stream.try_write(pattern(id, sent, room)) {
                    Ok(n) => {
                        // Counted when the kernel takes them, as the server counts them in.
                        sent += n as u64;
                        counts.bytes(n, 0);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => { counts.error(kind_of(&e)); return Stop::Lost; }
                }
            }
        }
    }
}

pub(super) async fn churn_once(id: u64, config: &BenchConfig, counts: &Counts, schedule: &mut Schedule) -> Stop {
    let deadline = schedule.deadline;
    let Some(began) = schedule.next(config, id).await else { return Stop::Deadline };
    let Some(mut stream) = connect(config, counts, deadline).await else {
        // Refused or failed: counted; a pause before the next try.
        tokio::time::sleep_until((Instant::now() + Duration::from_millis(100)).min(deadline)).await;
        return if Instant::now() >= deadline { Stop::Deadline } else { Stop::Lost };
    };
    let mut buf = vec![0u8; CHUNK];
    let msg = Message::new(config, 0);
    let (sent, want) = (msg.sent_len(), msg.answer_len());
    let round = async {
        msg.write(&mut stream, id).await?;
        read_checked(&mut stream, &mut buf, want, msg.expected(), id, 0).await
    };
    let limit = (Instant::now() + config.timeout).min(deadline);
    match tokio::time::timeout_at(limit, round).await {
        Err(_) if Instant::now() >= deadline => Stop::Deadline,
        Err(_) => {
            counts.error(Failure::NoAnswer);
            Stop::Lost
        }
        Ok(Err(e)) => {
            counts.error(kind_of(&e));
            Stop::Lost
        }
        Ok(Ok(Err(wrong))) => {
            counts.mismatch(Some(wrong));
            Stop::Wrong
        }
        Ok(Ok(Ok(()))) => {
            counts.round(schedule.done(began), sent, want);
            // Closing with nothing unread sends FIN; the loop connects again.
            Stop::Lost
        }
    }
}

pub(super) async fn sink(
    mut stream: TcpStream,
    id: u64,
    config: &BenchConfig,
    counts: &Counts,
    schedule: &mut Schedule,
) -> Stop {
    let deadline = schedule.deadline;
    let (mut reader, mut writer) = stream.split();
    let mut pos = 0u64;
    let sending = async {
        loop {
            let Some(began) = schedule.next(config, id).await else { return Ok(()) };
            let msg = Message::new(config, pos);
            msg.write(&mut writer, id).await?;
            counts.round(schedule.done(began), msg.sent_len(), 0);
            pos += msg.sent_len() as u64;
        }
    };
    // What the server sends back is read and dropped, so it never blocks on us.
    let draining = async {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = reader.read(&mut buf).await?;
            if n == 0 {
                return Err::<(), io::Error>(io::ErrorKind::UnexpectedEof.into());
            }
            counts.bytes(0, n);
        }
    };
    let outcome = tokio::time::timeout_at(deadline, async {
        tokio::select! {
            r = sending => r,
            r = draining => r,
        }
    })
    .await;
    match outcome {
        Err(_) | Ok(Ok(())) => Stop::Deadline,
        Ok(Err(e)) => {
            counts.error(kind_of(&e));
            Stop::Lost
        }
    }
}

/// UDP round trips on a connected socket: each datagram carries its number in its first
/// 8 bytes (when it has room), so a late answer is told from a wrong one.
pub(super) async fn udp_connection(id: u64, config: &BenchConfig, counts: &Counts, schedule: &mut Schedule) -> Stop {
    let deadline = schedule.deadline;
    let any: SocketAddr =
        if config.target.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { (std::net::Ipv6Addr::UNSPECIFIED, 0).into() };
    let socket = match UdpSocket::bind(any).await {
        Ok(s) => s,
        Err(e) => {
            counts.error(kind_of(&e));
            tokio::time::sleep_until(deadline).await;
            return Stop::Deadline;
        }
    };
    if let Err(e) = socket.connect(config.target).await {
        counts.error(kind_of(&e));
        tokio::time::sleep_until(deadline).await;
        return Stop::Deadline;
    }
    counts.tally.borrow_mut().alive += 1;
    let mut out = vec![0u8; config.payload.as_ref().map_or(config.len, |p| p.len())];
    let mut buf = vec![0u8; 65_536];
    loop {
        let Some(began) = schedule.next(config, id).await else { return Stop::Deadline };
        let number = schedule.k;
        match &config.payload {
            Some(p) => out.copy_from_slice(p),
            None => {
                let len = out.len();
                out.copy_from_slice(pattern(id, number * len as u64, len));
                if len >= 8 {
                    out[..8].copy_from_slice(&number.to_le_bytes());
                }
            }
        }
        if let Err(e) = socket.send(&out).await {
            counts.error(kind_of(&e));
            return Stop::Lost;
        }
        let expect: &[u8] = match (&config.payload, &config.expect) {
            (Some(_), Some(e)) => e,
            _ => &out,
        };
        let limit = (Instant::now() + config.timeout).min(deadline);
        loop {
            match tokio::time::timeout_at(limit, socket.recv(&mut buf)).await {
                Err(_) if Instant::now() >= deadline => return Stop::Deadline,
                Err(_) => {
                    counts.tally.borrow_mut().lost += 1;
                    schedule.done(began);
                    break;
                }
                Ok(Err(e)) => {
                    // ICMP port unreachable and the like.
                    schedule.done(began);
                    counts.error(kind_of(&e));
                    tokio::time::sleep_until((Instant::now() + Duration::from_millis(100)).min(deadline)).await;
                    break;
                }
                Ok(Ok(n)) => {
                    let numbered = config.payload.is_none() && out.len() >= 8;
                    if numbered && n >= 8 && buf[..8] != out[..8] {
                        // An answer to an earlier datagram, after we gave up on it.
                        counts.tally.borrow_mut().late += 1;
                        continue;
                    }
                    let latency = schedule.done(began);
                    if buf[..n] != *expect {
                        counts.mismatch(Some(Mismatch::new(expect, &buf[..n], 0)));
                    } else {
                        counts.round(latency, out.len(), n);
                    }
                    break;
                }
            }
        }
    }
}
