//! Checksums people append to device frames: sum8, xor8, LRC (Modbus ASCII), and the CRCs
//! from the `crc` crate's catalogue (never hand-written tables). Each has the byte order it
//! is usually sent in (Modbus RTU's CRC low byte first, the others high byte first),
//! which `:be` or `:le` after the name overrides.

use rust_i18n::t;
use std::fmt;

/// One algorithm. The CRCs' tables are built at compile time (`Crc::new` is const).
#[derive(Clone, Copy)]
enum Alg {
    Sum8,
    Xor8,
    Lrc,
    Crc8(&'static crc::Crc<u8>),
    Crc16(&'static crc::Crc<u16>),
    Crc32(&'static crc::Crc<u32>),
}

static CRC8: crc::Crc<u8> = crc::Crc::<u8>::new(&crc::CRC_8_SMBUS);
static CRC16_MODBUS: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_MODBUS);
static CRC16_XMODEM: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_XMODEM);
static CRC16_IBM_3740: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_IBM_3740);
static CRC16_KERMIT: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_KERMIT);
static CRC16_ARC: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_ARC);
static CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

impl PartialEq for Alg {
    fn eq(&self, other: &Alg) -> bool {
        match (self, other) {
            (Alg::Sum8, Alg::Sum8) | (Alg::Xor8, Alg::Xor8) | (Alg::Lrc, Alg::Lrc) => true,
            (Alg::Crc8(a), Alg::Crc8(b)) => std::ptr::eq(*a, *b),
            (Alg::Crc16(a), Alg::Crc16(b)) => std::ptr::eq(*a, *b),
            (Alg::Crc32(a), Alg::Crc32(b)) => std::ptr::eq(*a, *b),
            _ => false,
        }
    }
}

impl Eq for Alg {}

impl fmt::Debug for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Alg::Sum8 => f.write_str("Sum8"),
            Alg::Xor8 => f.write_str("Xor8"),
            Alg::Lrc => f.write_str("Lrc"),
            Alg::Crc8(c) => write!(f, "Crc8({:#x})", c.algorithm.poly),
            Alg::Crc16(c) => write!(f, "Crc16({:#x}, init {:#x})", c.algorithm.poly, c.algorithm.init),
            Alg::Crc32(c) => write!(f, "Crc32({:#x})", c.algorithm.poly),
        }
    }
}

/// The names taken, with what each is (for errors and `--help`).
pub const NAMES: &[(&str, &str)] = &[
    ("sum8", "the sum of the bytes, modulo 256"),
    ("xor8", "the bytes XORed together"),
    ("lrc", "Modbus ASCII's LRC: the two's complement of the sum"),
    ("crc8", "CRC-8 (SMBus)"),
    ("crc16-modbus", "CRC-16/MODBUS, sent low byte first"),
    ("crc16-xmodem", "CRC-16/XMODEM"),
    ("crc16-ccitt-false", "CRC-16/IBM-3740, known as CCITT-FALSE"),
    ("crc16-ccitt", "CRC-16/KERMIT, known as CCITT (true)"),
    ("crc16-ibm", "CRC-16/ARC, known as IBM"),
    ("crc32", "CRC-32 (ISO-HDLC: zip, Ethernet)"),
];

/// A checksum and the byte order it is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checksum {
    alg: Alg,
    big_endian: bool,
    name: &'static str,
}

/// Whether a message's trailing checksum is right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    Ok,
    /// `expected` is what the bytes before it give; `got` what the message ends with.
    Bad {
        expected: Vec<u8>,
        got: Vec<u8>,
    },
    /// The message is shorter than a checksum.
    Short,
}

impl Checksum {
    /// `crc16-modbus`, `crc16-modbus:be`, `sum8`, ... (case does not matter).
    pub fn parse(text: &str) -> Result<Checksum, String> {
        let lower = text.trim().to_ascii_lowercase();
        let (name, order) = match lower.rsplit_once(':') {
            Some((n, "be")) => (n.to_string(), Some(true)),
            Some((n, "le")) => (n.to_string(), Some(false)),
            Some((_, other)) => return Err(t!("checksum.byte_order", other = other).into_owned()),
            None => (lower.clone(), None),
        };
        let (alg, default_big) = match name.as_str() {
            "sum8" | "sum" => (Alg::Sum8, true),
            "xor8" | "xor" | "bcc" => (Alg::Xor8, true),
            "lrc" => (Alg::Lrc, true),
            "crc8" => (Alg::Crc8(&CRC8), true),
            "crc16-modbus" | "modbus" => (Alg::Crc16(&CRC16_MODBUS), false),
            "crc16-xmodem" | "xmodem" => (Alg::Crc16(&CRC16_XMODEM), true),
            "crc16-ccitt-false" | "crc16-ibm-3740" => (Alg::Crc16(&CRC16_IBM_3740), true),
            "crc16-ccitt" | "crc16-kermit" => (Alg::Crc16(&CRC16_KERMIT), true),
            "crc16-ibm" | "crc16-arc" | "crc16" => (Alg::Crc16(&CRC16_ARC), true),
            "crc32" => (Alg::Crc32(&CRC32), true),
            _ => {
                let names: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
                return Err(t!("checksum.unknown", name = name, names = names.join(", ")).into_owned());
            }
        };
        let canonical = NAMES
            .iter()
            .map(|(n, _)| *n)
            .find(|n| Checksum::alg_of(n) == Some(alg))
            .expect("every algorithm has a name");
        Ok(Checksum { alg, big_endian: order.unwrap_or(default_big), name: canonical })
    }

    fn alg_of(name: &str) -> Option<Alg> {
        Some(match name {
            "sum8" => Alg::Sum8,
            "xor8" => Alg::Xor8,
            "lrc" => Alg::Lrc,
            "crc8" => Alg::Crc8(&CRC8),
            "crc16-modbus" => Alg::Crc16(&CRC16_MODBUS),
            "crc16-xmodem" => Alg::Crc16(&CRC16_XMODEM),
            "crc16-ccitt-false" => Alg::Crc16(&CRC16_IBM_3740),
            "crc16-ccitt" => Alg::Crc16(&CRC16_KERMIT),
            "crc16-ibm" => Alg::Crc16(&CRC16_ARC),
            "crc32" => Alg::Crc32(&CRC32),
            _ => return None,
        })
    }

    /// Its name, as `--checksum` takes it.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// How many bytes the checksum takes.
    pub fn width(&self) -> usize {
        match self.alg {
            Alg::Sum8 | Alg::Xor8 | Alg::Lrc | Alg::Crc8(_) => 1,
            Alg::Crc16(_) => 2,
            Alg::Crc32(_) => 4,
        }
    }

    /// The checksum of `bytes`, in the order it is sent.
    pub fn of(&self, bytes: &[u8]) -> Vec<u8> {
        let value: u32 = match self.alg {
            Alg::Sum8 => u32::from(bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b))),
            Alg::Xor8 => u32::from(bytes.iter().fold(0u8, |a, b| a ^ b)),
            Alg::Lrc => u32::from(bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b)).wrapping_neg()),
            Alg::Crc8(c) => u32::from(c.checksum(bytes)),
            Alg::Crc16(c) => u32::from(c.checksum(bytes)),
            Alg::Crc32(c) => c.checksum(bytes),
        };
        let be = value.to_be_bytes();
        let mut out = be[4 - self.width()..].to_vec();
        if !self.big_endian {
            out.reverse();
        }
        out
    }

    /// `bytes` with their checksum after them.
    pub fn append(&self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len() + self.width());
        out.extend_from_slice(bytes);
        out.extend_from_slice(&self.of(bytes));
        out
    }

    /// Checks the checksum a message ends with.
    pub fn verify(&self, message: &[u8]) -> Check {
        let w = self.width();
        if message.len() < w {
            return Check::Short;
        }
        let (body, got) = message.split_at(message.len() - w);
        let expected = self.of(body);
        if expected == got { Check::Ok } else { Check::Bad { expected, got: got.to_vec() } }
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(name: &str, bytes: &[u8]) -> Vec<u8> {
        Checksum::parse(name).unwrap().of(bytes)
    }

    #[test]
    fn catalogue_check_values() {
        // The catalogue's `check`: the CRC of "123456789", high byte first.
        let check = b"123456789";
        assert_eq!(of("crc8", check), [0xf4]);
        assert_eq!(of("crc16-modbus:be", check), [0x4b, 0x37]);
        assert_eq!(of("crc16-xmodem", check), [0x31, 0xc3]);
        assert_eq!(of("crc16-ccitt-false", check), [0x29, 0xb1]);
        assert_eq!(of("crc16-ccitt", check), [0x21, 0x89]);
        assert_eq!(of("crc16-ibm", check), [0xbb, 0x3d]);
        assert_eq!(of("crc32", check), [0xcb, 0xf4, 0x39, 0x26]);
        assert_eq!(of("sum8", check), [0xdd]);
        assert_eq!(of("xor8", check), [0x31]);
        assert_eq!(of("lrc", check), [0x23]);
    }

    #[test]
    fn modbus_sends_its_crc_low_byte_first() {
        assert_eq!(of("crc16-modbus", &[0x01, 0x03, 0x00, 0x00, 0x00, 0x02]), [0xc4, 0x0b]);
        assert_eq!(of("CRC16-MODBUS:le", &[0x01, 0x03, 0x04, 0x00, 0x0a, 0x00, 0x0b]), [0x9b, 0xf6]);
        let c = Checksum::parse("crc16-modbus").unwrap();
        assert_eq!(c.verify(&[0x01, 0x03, 0x00, 0x00, 0x00, 0x02, 0xc4, 0x0b]), Check::Ok);
        assert_eq!(
            c.verify(&[0x01, 0x03, 0x00, 0x00, 0x00, 0x02, 0x0b, 0xc4]),
            Check::Bad { expected: vec![0xc4, 0x0b], got: vec![0x0b, 0xc4] }
        );
        assert_eq!(c.verify(&[0x01]), Check::Short);
        let framed = c.append(&[1, 2]);
        assert_eq!((&framed[..2], framed.len()), (&[1u8, 2][..], 4));
        assert_eq!(c.verify(&framed), Check::Ok);
        assert_eq!(c.to_string(), "crc16-modbus");
    }

    #[test]
    fn bad_names_say_what_is_taken() {
        assert!(Checksum::parse("crc99").unwrap_err().contains("one of: sum8, xor8"));
        assert!(Checksum::parse("crc16-modbus:xx").unwrap_err().contains(":be or :le"));
        assert_eq!(Checksum::parse("modbus").unwrap().to_string(), "crc16-modbus");
        assert_eq!(Checksum::parse("MODBUS:le").unwrap().name(), "crc16-modbus");
    }

    #[test]
    fn a_message_of_the_checksum_alone_is_checked() {
        // An empty body's sum is 0: a one-byte message 00 carries it.
        let sum8 = Checksum::parse("sum8").unwrap();
        assert_eq!(sum8.verify(&[0x00]), Check::Ok);
        assert_eq!(sum8.verify(&[]), Check::Short);
    }

    #[test]
    fn debug_names_the_polynomial() {
        let debug = format!("{:?}", Checksum::parse("crc16-modbus").unwrap());
        assert!(debug.contains("Crc16(0x8005, init 0xffff)"), "{debug}");
        for (name, shown) in
            [("sum8", "Sum8"), ("xor8", "Xor8"), ("lrc", "Lrc"), ("crc8", "Crc8(0x7)"), ("crc32", "Crc32(0x4c11db7)")]
        {
            let debug = format!("{:?}", Checksum::parse(name).unwrap());
            assert!(debug.contains(shown), "{name}: {debug}");
        }
    }
}
