//! One integration test binary: the real `netassist` on real sockets (127.0.0.1 and ::1,
//! port 0).

mod util;

mod bench;
mod connect;
mod device;
mod docs;
mod errors;
mod examples;
mod faults;
mod hardening;
mod jobs;
mod lang;
mod lesson_tools;
mod listen;
mod merge;
mod promises;
mod relay;
mod snapshot;
mod tls;
mod udp;
mod ui;
