//! Personal data encrypted per field with XChaCha20-Poly1305.
//!
//! A sealed value is `v1.<key id>.<base64url(nonce ‖ ciphertext)>`. The key id
//! lets old values stay readable after a new key becomes current; the
//! associated data (table, column and the row's natural key) stops a
//! ciphertext from being copied into another row or column unnoticed.
//! Equality look-ups use a keyed blind index ([`FieldCipher::blind_index`]),
//! never the plaintext.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, AeadInPlace, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use secrecy::{ExposeSecret, SecretBox};

use super::{HmacSha256, hmac_parts};

pub struct FieldKey {
    pub id: String,
    pub key: SecretBox<[u8; 32]>,
}

pub struct FieldCipher {
    current: usize,
    keys: Vec<FieldKey>,
    blind_key: SecretBox<[u8; 32]>,
}

#[derive(Debug, thiserror::Error)]
pub enum FieldError {
    #[error("sealed value is malformed")]
    Malformed,
    #[error("sealed value uses unknown key id {0:?}")]
    UnknownKey(String),
    #[error("sealed value failed authentication (wrong row, column or key)")]
    Authentication,
    #[error("no current field key configured")]
    NoCurrentKey,
}

/// Where a value lives, bound into its ciphertext.
pub struct FieldContext<'a> {
    pub table: &'a str,
    pub column: &'a str,
    pub row: &'a str,
}

impl FieldContext<'_> {
    /// `HMAC(“cityteller-field-aad”, table ‖ column ‖ row)`, each part
    /// length-prefixed (as [`hmac_parts`] does); the keyed state is set up
    /// once.
    fn aad(&self) -> [u8; 32] {
        use hmac::Mac;
        static KEYED: std::sync::OnceLock<Option<HmacSha256>> = std::sync::OnceLock::new();
        let Some(keyed) =
            KEYED.get_or_init(|| <HmacSha256 as Mac>::new_from_slice(b"cityteller-field-aad").ok())
        else {
            return hmac_parts(
                b"cityteller-field-aad",
                &[
                    self.table.as_bytes(),
                    self.column.as_bytes(),
                    self.row.as_bytes(),
                ],
            );
        };
        let mut mac = keyed.clone();
        for p in [self.table, self.column, self.row] {
            mac.update(&(p.len() as u64).to_be_bytes());
            mac.update(p.as_bytes());
        }
        mac.finalize().into_bytes().into()
    }
}

impl FieldCipher {
    pub fn new(
        keys: Vec<FieldKey>,
        current_id: &str,
        blind_key: SecretBox<[u8; 32]>,
    ) -> Result<Self, FieldError> {
        let current = keys
            .iter()
            .position(|k| k.id == current_id)
            .ok_or(FieldError::NoCurrentKey)?;
        Ok(FieldCipher {
            current,
            keys,
            blind_key,
        })
    }

    /// The id of the key new values are sealed with.
    pub fn current_id(&self) -> &str {
        self.keys
            .get(self.current)
            .map(|k| k.id.as_str())
            .unwrap_or("")
    }

    pub fn seal(&self, plaintext: &str, ctx: &FieldContext<'_>) -> Result<String, FieldError> {
        let key = self
            .keys
            .get(self.current)
            .ok_or(FieldError::NoCurrentKey)?;
        let cipher = XChaCha20Poly1305::new(key.key.expose_secret().into());
        // A random 192-bit nonce from the thread's CSPRNG (ChaCha, seeded
        // and reseeded from the operating system): no system call per value.
        let mut nonce_bytes = [0u8; 24];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut nonce_bytes);
        let aad = ctx.aad();
        let mut blob = Vec::with_capacity(24 + plaintext.len() + 16);
        blob.extend_from_slice(&nonce_bytes);
        blob.extend_from_slice(plaintext.as_bytes());
        let tag = cipher
            .encrypt_in_place_detached(XNonce::from_slice(&nonce_bytes), &aad, &mut blob[24..])
            .map_err(|_| FieldError::Authentication)?;
        blob.extend_from_slice(&tag);
        let mut out = String::with_capacity(4 + key.id.len() + blob.len() * 4 / 3 + 4);
        out.push_str("v1.");
        out.push_str(&key.id);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(&blob, &mut out);
        Ok(out)
    }

    pub fn open(&self, sealed: &str, ctx: &FieldContext<'_>) -> Result<String, FieldError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some("v1"), Some(kid), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(FieldError::Malformed);
        };
        let key = self
            .keys
            .iter()
            .find(|k| k.id == kid)
            .ok_or_else(|| FieldError::UnknownKey(kid.to_owned()))?;
        let blob = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| FieldError::Malformed)?;
        if blob.len() < 24 + 16 {
            return Err(FieldError::Malformed);
        }
        let (nonce, ct) = blob.split_at(24);
        let cipher = XChaCha20Poly1305::new(key.key.expose_secret().into());
        let aad = ctx.aad();
        let pt = cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
            .map_err(|_| FieldError::Authentication)?;
        String::from_utf8(pt).map_err(|_| FieldError::Malformed)
    }

    /// A keyed, deterministic digest for equality look-ups and verifier
    /// checks. `purpose` separates uses so one index cannot stand in for
    /// another.
    pub fn blind_index(&self, purpose: &str, normalized: &str) -> String {
        hex::encode(hmac_parts(
            self.blind_key.expose_secret(),
            &[purpose.as_bytes(), normalized.as_bytes()],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(ids: &[&str], current: &str) -> FieldCipher {
        let keys = ids
            .iter()
            .enumerate()
            .map(|(i, id)| FieldKey {
                id: (*id).to_owned(),
                key: SecretBox::new(Box::new([i as u8 + 1; 32])),
            })
            .collect();
        FieldCipher::new(keys, current, SecretBox::new(Box::new([9; 32]))).unwrap()
    }

    const CTX: FieldContext<'static> = FieldContext {
        table: "service_accounts",
        column: "holder_name",
        row: "utilities/1001",
    };

    #[test]
    fn cached_aad_state_matches_hmac_parts() {
        let expected = hmac_parts(
            b"cityteller-field-aad",
            &[
                CTX.table.as_bytes(),
                CTX.column.as_bytes(),
                CTX.row.as_bytes(),
            ],
        );
        assert_eq!(CTX.aad(), expected);
        let other = FieldContext {
            row: "utilities/1002",
            ..CTX
        };
        assert_ne!(other.aad(), expected);
    }

    #[test]
    fn round_trip_hides_plaintext() {
        let c = cipher(&["k1"], "k1");
        let sealed = c.seal("Maria Lopez", &CTX).unwrap();
        assert!(sealed.starts_with("v1.k1."));
        assert!(!sealed.contains("Maria"));
        assert_eq!(c.open(&sealed, &CTX).unwrap(), "Maria Lopez");
        assert_ne!(
            sealed,
            c.seal("Maria Lopez", &CTX).unwrap(),
            "nonce is random"
        );
    }

    #[test]
    fn moved_or_tampered_values_fail() {
        let c = cipher(&["k1"], "k1");
        let sealed = c.seal("Maria Lopez", &CTX).unwrap();
        let other_row = FieldContext {
            row: "utilities/1002",
            ..CTX
        };
        assert!(matches!(
            c.open(&sealed, &other_row),
            Err(FieldError::Authentication)
        ));
        let mut bad = sealed.clone();
        bad.pop();
        bad.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(c.open(&bad, &CTX).is_err());
        assert!(matches!(
            c.open("v2.k1.xx", &CTX),
            Err(FieldError::Malformed)
        ));
    }

    #[test]
    fn old_keys_still_open_after_rotation() {
        let old = cipher(&["k1"], "k1");
        let sealed = old.seal("12 Elm St", &CTX).unwrap();
        let rotated = cipher(&["k1", "k2"], "k2");
        assert_eq!(rotated.open(&sealed, &CTX).unwrap(), "12 Elm St");
        assert!(rotated.seal("x", &CTX).unwrap().starts_with("v1.k2."));
        let missing = cipher(&["k2"], "k2");
        assert!(matches!(
            missing.open(&sealed, &CTX),
            Err(FieldError::UnknownKey(_))
        ));
    }

    #[test]
    fn blind_index_is_keyed_and_purpose_bound() {
        let c = cipher(&["k1"], "k1");
        assert_eq!(c.blind_index("zip", "94110"), c.blind_index("zip", "94110"));
        assert_ne!(c.blind_index("zip", "94110"), c.blind_index("pin", "94110"));
        assert_ne!(c.blind_index("zip", "94110"), c.blind_index("zip", "94111"));
    }
}
