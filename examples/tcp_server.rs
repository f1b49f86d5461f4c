//! The lesson's TCP server ("TCP服务端程序开发"), in plain std::net Rust: one client.
//!
//!     cargo run --example tcp_server -- 8989
//!
//! Play the client with `netassist connect 127.0.0.1 8989 --send 'hello' --encoding gbk`,
//! or with the lesson's Python client. Port 0 lets the OS pick a port; it is printed.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(port) = std::env::args().nth(1).and_then(|p| p.parse::<u16>().ok()) else {
        eprintln!("usage: tcp_server PORT");
        return ExitCode::from(2);
    };

    // 1. Create the server socket, 2. bind the port, 3. listen. In Rust, bind() does all
    //    three: socket(AF_INET, SOCK_STREAM), bind to every address of this machine
    //    (0.0.0.0, as Python's ""), listen(). On Unix it also sets SO_REUSEADDR, as the
    //    lesson advises, so the port is free again at once after the server exits.
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

    // 4. Wait for a client. accept() returns a NEW socket for talking to this client;
    //    the listening socket only accepts connections, it never sends or receives.
    let (mut service_client_socket, ip_port) = match listener.accept() {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("error: accept failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("客户端的ip地址和端口号: {ip_port}");

    // 5. Receive data: at most 1024 bytes this time.
    let mut buffer = [0u8; 1024];
    let n = service_client_socket.read(&mut buffer).unwrap_or(0);
    println!("接收数据的长度为: {n}");
    let (recv_content, _, _) = encoding_rs::GBK.decode(&buffer[..n]);
    println!("接收客户端的数据为: {recv_content}");

    // 6. Send data, encoded in GBK.
    let (send_data, _, _) = encoding_rs::GBK.encode("ok, 问题正在处理中...");
    if let Err(e) = service_client_socket.write_all(&send_data) {
        eprintln!("error: cannot send: {e}");
    }

    // 7. Close the sockets: the one for this client (the conversation is over), then the
    //    listening one (no more clients). Dropping them closes them.
    drop(service_client_socket);
    drop(listener);
    ExitCode::SUCCESS
}
