//! The lesson's multi-task TCP server ("多任务版TCP服务端程序"), in plain std::net Rust: a
//! thread per client, answering every message until the client goes offline.
//!
//!     cargo run --example tcp_server_threads -- 9090
//!
//! netassist listen does the same job with tasks instead of threads: thousands of clients
//! cost it megabytes, where a thread each costs a stack each.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;

/// Serves one client: receive, print, reply, until recv() returns 0 bytes.
fn handle_client_request(mut service_client_socket: TcpStream, ip_port: SocketAddr) {
    let mut buffer = [0u8; 1024];
    loop {
        match service_client_socket.read(&mut buffer) {
            // Data: print it and answer.
            Ok(n) if n > 0 => {
                let (text, _, _) = encoding_rs::GBK.decode(&buffer[..n]);
                println!("{text} {ip_port}");
                let (reply, _, _) = encoding_rs::GBK.encode("ok，问题正在处理中...");
                if service_client_socket.write_all(&reply).is_err() {
                    break;
                }
            }
            // recv() returned 0 bytes (the client closed), or the connection broke.
            _ => {
                println!("客户端下线了: {ip_port}");
                break;
            }
        }
    }
    // The conversation with this client is over: dropping the socket closes it.
}

fn main() -> ExitCode {
    let Some(port) = std::env::args().nth(1).and_then(|p| p.parse::<u16>().ok()) else {
        eprintln!("usage: tcp_server_threads PORT");
        return ExitCode::from(2);
    };
    // Create the socket, set SO_REUSEADDR (std does it on Unix), bind, listen.
    let listener = match TcpListener::bind(("0.0.0.0", port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on port {port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Ok(addr) = listener.local_addr() {
        println!("listening on {addr}");
    }
    // 1. Accept clients in a loop.
    loop {
        let (service_client_socket, ip_port) = match listener.accept() {
            Ok(pair) => pair,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        println!("客户端连接成功: {ip_port}");
        // 2. A thread per client, so the main thread goes back to accepting at once.
        // 3. The lesson makes it a daemon thread; Rust's threads never keep the process
        //    alive after main returns, so there is nothing to set.
        thread::spawn(move || handle_client_request(service_client_socket, ip_port));
    }
}
