//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP), as authenticator apps
//! compute them: HMAC-SHA-1, 30-second steps, 6 digits; the secret travels as base32 in an
//! `otpauth://` URI (a QR code).

use hmac::{Hmac, KeyInit, Mac};

/// Seconds per step.
pub const STEP_SECS: i64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Bytes of a new secret (160 bits, RFC 4226's recommendation).
pub const SECRET_BYTES: usize = 20;

/// The HOTP value of `counter` with `digits` digits (RFC 4226, section 5.3).
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let mut mac = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[digest.len() - 1] & 0x0f) as usize;
    let binary = (u32::from(digest[offset]) & 0x7f) << 24
        | u32::from(digest[offset + 1]) << 16
        | u32::from(digest[offset + 2]) << 8
        | u32::from(digest[offset + 3]);
    binary % 10u32.pow(digits)
}

/// The step a Unix time falls in.
pub fn step_at(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(STEP_SECS)
}

/// The code of a step, as the app shows it (zero-padded).
pub fn code(secret: &[u8], step: i64) -> String {
    format!("{:0width$}", hotp(secret, step.max(0) as u64, DIGITS), width = DIGITS as usize)
}

/// The step among the previous, the current and the next (a phone's clock may be off by one)
/// whose code is `given`, if any: the caller refuses a step already used.
pub fn matching_step(secret: &[u8], given: &str, unix_secs: i64) -> Option<i64> {
    let given: String = given.chars().filter(|c| !c.is_whitespace()).collect();
    if given.len() != DIGITS as usize || !given.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_at(unix_secs);
    [now - 1, now, now + 1].into_iter().find(|&s| crate::security::constant_time_eq(code(secret, s).as_bytes(), given.as_bytes()))
}

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Base32 (RFC 4648) without padding, as `otpauth://` URIs carry secrets.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Decode base32 (case and spaces ignored, padding allowed); `None` for another character.
pub fn from_base32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let v = ALPHABET.iter().position(|&a| a as char == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            out.push((buffer >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    Some(out)
}

/// The `otpauth://` URI an authenticator app reads from the QR code.
pub fn uri(secret_base32: &str, account: &str) -> String {
    let label = serde_urlencoded::to_string([("x", format!("DELIVR-CM:{account}"))]).unwrap_or_default();
    let label = label.trim_start_matches("x=").replace('+', "%20");
    format!("otpauth://totp/{label}?secret={secret_base32}&issuer=DELIVR-CM&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}")
}

/// The QR code of `data` as an SVG (dark modules as one path, with a quiet zone).
pub fn qr_svg(data: &str) -> Option<String> {
    use qrcode::{Color, EcLevel, QrCode};
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).ok()?;
    let width = code.width();
    let quiet = 4;
    let side = width + 2 * quiet;
    let mut path = String::new();
    for (i, c) in code.to_colors().into_iter().enumerate() {
        if c == Color::Dark {
            let (y, x) = (i / width + quiet, i % width + quiet);
            path.push_str(&format!("M{x} {y}h1v1h-1z"));
        }
    }
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" width=\"200\" height=\"200\" role=\"img\" \
         shape-rendering=\"crispEdges\"><rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B (SHA-1, the 20-byte ASCII secret, 8 digits).
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, expected) in [
            (59, 94287082),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(hotp(secret, step_at(time) as u64, 8), expected, "T = {time}");
        }
        // The six-digit codes apps show are the last six digits.
        assert_eq!(code(secret, step_at(59)), "287082");
        assert_eq!(code(secret, step_at(1111111109)), "081804");
    }

    /// RFC 4226, appendix D (HOTP, 6 digits).
    #[test]
    fn rfc_4226_test_vectors() {
        let expected = [755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489];
        for (counter, value) in expected.into_iter().enumerate() {
            assert_eq!(hotp(b"12345678901234567890", counter as u64, 6), value);
        }
    }

    #[test]
    fn a_code_matches_its_step_and_the_neighbours_only() {
        let secret = b"12345678901234567890";
        let now = 1_700_000_000;
        let current = code(secret, step_at(now));
        assert_eq!(matching_step(secret, &current, now), Some(step_at(now)));
        assert_eq!(matching_step(secret, &current, now + STEP_SECS), Some(step_at(now)), "a step late");
        assert_eq!(matching_step(secret, &current, now + 3 * STEP_SECS), None, "too late");
        assert_eq!(matching_step(secret, "12345", now), None);
        assert_eq!(matching_step(secret, "abcdef", now), None);
    }

    #[test]
    fn base32_round_trips_rfc_4648_vectors() {
        for (plain, encoded) in
            [("", ""), ("f", "MY"), ("fo", "MZXQ"), ("foo", "MZXW6"), ("foob", "MZXW6YQ"), ("fooba", "MZXW6YTB"), ("foobar", "MZXW6YTBOI")]
        {
            assert_eq!(base32(plain.as_bytes()), encoded);
            assert_eq!(from_base32(encoded).unwrap(), plain.as_bytes());
        }
        assert_eq!(from_base32("mzxw 6ytb oi======").unwrap(), b"foobar");
        assert_eq!(from_base32("MZ1"), None);
    }
}
