//! The lesson's TCP client ("TCP 客户端程序开发"), in plain std::net Rust.
//!
//!     cargo run --example tcp_client -- 127.0.0.1 8080
//!
//! Play the server with `netassist listen 8080 --reply hello --encoding gbk`, or with the
//! lesson's Python server. It sends "你好服务端，我是客户端小黑!" in GBK, prints the reply's
//! bytes and its GBK text, and closes.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(host), Some(port)) = (args.get(1), args.get(2).and_then(|p| p.parse::<u16>().ok())) else {
        eprintln!("usage: tcp_client HOST PORT");
        return ExitCode::from(2);
    };

    // 1. Create the client socket and 2. connect to the server. In Rust, connect() does
    //    both: it makes an AF_INET/AF_INET6, SOCK_STREAM socket (TCP) and runs the
    //    three-way handshake. The client does not bind a port: the OS picks one.
    let mut socket = match TcpStream::connect((host.as_str(), port)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot connect to {host}:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Ok(local) = socket.local_addr() {
        println!("connected from local port {} (chosen by the OS)", local.port());
    }

    // 3. Send data. Text must become bytes first: encode it, here in GBK.
    let (send_data, _, _) = encoding_rs::GBK.encode("你好服务端，我是客户端小黑!");
    if let Err(e) = socket.write_all(&send_data) {
        eprintln!("error: cannot send: {e}");
        return ExitCode::FAILURE;
    }

    // 4. Receive data: at most 1024 bytes this time, whatever has arrived.
    let mut buffer = [0u8; 1024];
    let n = match socket.read(&mut buffer) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("error: cannot receive: {e}");
            return ExitCode::FAILURE;
        }
    };
    let recv_data = &buffer[..n];
    // What arrived is bytes, exactly as the server sent them...
    println!("{recv_data:?}");
    // ...and decoding them gives the text back.
    let (recv_content, _, _) = encoding_rs::GBK.decode(recv_data);
    println!("接收服务端的数据为: {recv_content}");

    // 5. Close the socket: dropping it closes it (the server's recv() then returns 0).
    drop(socket);
    ExitCode::SUCCESS
}
