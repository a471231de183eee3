//! Time-based one-time passwords (RFC 6238: HMAC-SHA1, 30-second steps,
//! 6 digits), the way every authenticator app does them.

use hmac::{Hmac, Mac};
use sha1::Sha1;

use super::{constant_time_eq, random_bytes};

pub const STEP_SECONDS: i64 = 30;

#[derive(Clone)]
pub struct TotpSecret(pub [u8; 20]);

impl TotpSecret {
    pub fn generate() -> TotpSecret {
        TotpSecret(random_bytes())
    }

    pub fn base32(&self) -> String {
        base32_encode(&self.0)
    }

    pub fn from_base32(s: &str) -> Option<TotpSecret> {
        let bytes = base32_decode(s)?;
        let arr: [u8; 20] = bytes.try_into().ok()?;
        Some(TotpSecret(arr))
    }

    /// The HOTP value for one time step (RFC 4226), as 6 digits.
    pub fn code_at_step(&self, step: i64) -> String {
        let mut mac = match Hmac::<Sha1>::new_from_slice(&self.0) {
            Ok(m) => m,
            Err(_) => return String::new(),
        };
        mac.update(&step.to_be_bytes());
        let h = mac.finalize().into_bytes();
        let offset = usize::from(h[19] & 0x0f);
        let bin = (u32::from(h[offset] & 0x7f) << 24)
            | (u32::from(h[offset + 1]) << 16)
            | (u32::from(h[offset + 2]) << 8)
            | u32::from(h[offset + 3]);
        format!("{:06}", bin % 1_000_000)
    }

    /// Checks `code` against the current step and one step either side
    /// (clock drift), refusing any step at or before `last_used` (a code is
    /// good once). Returns the step that matched.
    pub fn verify(&self, code: &str, now_unix: i64, last_used: i64) -> Option<i64> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let now = now_unix.div_euclid(STEP_SECONDS);
        let mut matched = None;
        for step in [now - 1, now, now + 1] {
            // Compare every candidate, so timing does not say which matched.
            if constant_time_eq(self.code_at_step(step).as_bytes(), code.as_bytes())
                && step > last_used
            {
                matched = Some(step);
            }
        }
        matched
    }

    /// What an authenticator app scans.
    pub fn otpauth_url(&self, issuer: &str, account: &str) -> String {
        let enc = |s: &str| {
            url::form_urlencoded::byte_serialize(s.as_bytes())
                .collect::<String>()
                .replace('+', "%20")
        };
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period=30",
            enc(issuer),
            enc(account),
            self.base32(),
            enc(issuer)
        )
    }
}

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

pub fn base32_encode(data: &[u8]) -> String {
    let mut out = String::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in data {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            let idx = ((buffer >> (bits - 5)) & 31) as usize;
            out.push(char::from(ALPHABET[idx]));
            bits -= 5;
        }
    }
    if bits > 0 {
        let idx = ((buffer << (5 - bits)) & 31) as usize;
        out.push(char::from(ALPHABET[idx]));
    }
    out
}

pub fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in s.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let v = ALPHABET
            .iter()
            .position(|a| char::from(*a) == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            out.push(((buffer >> (bits - 8)) & 0xff) as u8);
            bits -= 8;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vectors() {
        // RFC 6238 appendix B, SHA-1, last 6 of the 8 digits.
        let s = TotpSecret(*b"12345678901234567890");
        for (t, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            assert_eq!(s.code_at_step(t / STEP_SECONDS), code, "T={t}");
        }
    }

    #[test]
    fn window_and_replay() {
        let s = TotpSecret(*b"12345678901234567890");
        let now = 1_234_567_890;
        let step = now / STEP_SECONDS;
        let code = s.code_at_step(step);
        assert_eq!(s.verify(&code, now, 0), Some(step));
        assert_eq!(s.verify(&code, now, step), None, "a code is good once");
        assert_eq!(
            s.verify(&code, now + 30, 0),
            Some(step),
            "one step of drift"
        );
        assert_eq!(s.verify(&code, now + 90, 0), None, "too old");
        assert_eq!(s.verify("12345", now, 0), None);
        assert_eq!(s.verify("abcdef", now, 0), None);
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(s.verify(&spaced, now, 0), Some(step));
    }

    #[test]
    fn base32_round_trip() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("MZXW6YTBOI").unwrap(), b"foobar");
        let s = TotpSecret::generate();
        assert_eq!(TotpSecret::from_base32(&s.base32()).unwrap().0, s.0);
        assert!(
            s.otpauth_url("City of Springfield", "a@b.example")
                .starts_with("otpauth://totp/City%20of%20Springfield:a%40b.example?secret=")
        );
    }
}
