//! Device protocols' building blocks, pure and tested without sockets: where a message
//! ends in a byte stream ([`frame`]) and the checksums frames carry ([`checksum`]).

pub mod checksum;
pub mod frame;
