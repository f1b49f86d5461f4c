//! The plain tokio echo: a task and a 64 KiB buffer per connection, nothing else. Not the
//! lesson's: the reference `bench/many_clients.sh` runs beside netassist, to tell what the
//! runtime costs from what netassist adds (the C epoll echo, `../shared/bench/cecho.c`, is
//! the machine's limit). Its runtime is chosen as netassist chooses: one thread when the
//! process may use one CPU.
//!
//!     cargo run --release --example tokio_echo -- 9000

use std::process::ExitCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn main() -> ExitCode {
    let Some(port) = std::env::args().nth(1).and_then(|p| p.parse::<u16>().ok()) else {
        eprintln!("usage: tokio_echo PORT");
        return ExitCode::from(2);
    };
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut builder = if cpus == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = builder.enable_all().build().expect("a runtime");
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("tokio_echo: cannot listen on 127.0.0.1:{port}: {e}");
                return ExitCode::FAILURE;
            }
        };
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { continue };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if stream.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    })
}
