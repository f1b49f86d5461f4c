//! `netassist checksum ALG HEX|--text TEXT`: the checksum in the order it is sent, and the
//! message with it appended, ready to paste into `--send-hex`.

use std::io::Write;

use crate::cli::ChecksumArgs;
use crate::config::{hex_arg, text_arg};
use crate::error::Result;
use crate::render::hex::{spaced, to_hex};

pub fn run(out: &mut dyn Write, args: &ChecksumArgs) -> Result<()> {
    let bytes = match (&args.text, &args.hex) {
        (Some(text), _) => text_arg("--text", text, args.encoding)?,
        (None, Some(hex)) => hex_arg("HEX", hex)?,
        (None, None) => unreachable!("clap requires one"),
    };
    let sum = args.alg.of(&bytes);
    let framed = args.alg.append(&bytes);
    let written = if args.json {
        let mut o = crate::sink::json::JsonObject::plain();
        o.str("checksum", args.alg.name()).str("hex", &to_hex(&sum)).str("message_hex", &to_hex(&framed));
        writeln!(out, "{}", o.finish())
    } else {
        writeln!(out, "{}: {}", args.alg.name(), spaced(&sum)).and_then(|()| writeln!(out, "{}", spaced(&framed)))
    };
    written.map_err(super::output_error)
}
