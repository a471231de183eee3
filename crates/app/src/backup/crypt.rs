//! Encryption of backups to a public key whose private half lives offline,
//! so a server that is broken into can write backups but never read them.
//!
//! Each backup has a fresh X25519 key pair; its public half goes into the
//! manifest. The shared secret with the recipient's key, through
//! HKDF-SHA256 (salted with both public keys), gives one key per part
//! (the part's name is the HKDF info). A part is a sequence of chunks, each
//! sealed with XChaCha20-Poly1305 under a nonce made of the chunk's number
//! and a "last chunk" flag, so chunks cannot be reordered, dropped or cut
//! off unseen.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};

use crate::crypto::random_bytes;

const RECIPIENT_PREFIX: &str = "backup-recipient:";
const IDENTITY_PREFIX: &str = "backup-identity:";
const HKDF_INFO: &[u8] = b"cityteller backup v1 part ";

/// The public key backups are encrypted to (`backup.recipient` in the
/// config), written `backup-recipient:` and 32 bytes in base64.
#[derive(Clone, PartialEq, Eq)]
pub struct Recipient(PublicKey);

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_string())
    }
}

impl std::fmt::Display for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{RECIPIENT_PREFIX}{}",
            STANDARD.encode(self.0.as_bytes())
        )
    }
}

impl std::str::FromStr for Recipient {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let Some(b64) = s.strip_prefix(RECIPIENT_PREFIX) else {
            return Err(format!(
                "expected {RECIPIENT_PREFIX} followed by the key in base64 (`cityteller backup keygen` prints it)"
            ));
        };
        let bytes = STANDARD
            .decode(b64)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| format!("the key after {RECIPIENT_PREFIX} is not 32 bytes in base64"))?;
        Ok(Recipient(PublicKey::from(bytes)))
    }
}

/// The private key that opens backups. Kept offline; never in the key
/// file or on the server.
pub struct Identity(StaticSecret);

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Identity(redacted)")
    }
}

impl Identity {
    pub fn generate() -> Identity {
        Identity(StaticSecret::from(random_bytes::<32>()))
    }

    pub fn recipient(&self) -> Recipient {
        Recipient(PublicKey::from(&self.0))
    }

    /// The identity file's text: comments, then one `backup-identity:` line.
    pub fn file_text(&self) -> String {
        format!(
            "# cityteller backup identity: it decrypts backups. Keep it offline (a safe, a\n\
             # hardware token), never on the server, and keep a second copy elsewhere.\n\
             # Without it no backup can be restored.\n\
             # recipient (put in the config as backup.recipient): {}\n\
             {IDENTITY_PREFIX}{}\n",
            self.recipient(),
            STANDARD.encode(self.0.as_bytes())
        )
    }

    /// Parses an identity file (comments and blank lines are skipped).
    pub fn parse(text: &str) -> Result<Identity, String> {
        let mut found = None;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some(b64) = line.strip_prefix(IDENTITY_PREFIX) else {
                return Err(format!(
                    "expected a line starting with {IDENTITY_PREFIX} (made by `cityteller backup keygen`)"
                ));
            };
            if found.is_some() {
                return Err(format!("more than one {IDENTITY_PREFIX} line"));
            }
            let bytes = STANDARD
                .decode(b64.trim())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| {
                    format!("the key after {IDENTITY_PREFIX} is not 32 bytes in base64")
                })?;
            found = Some(Identity(StaticSecret::from(bytes)));
        }
        found.ok_or_else(|| format!("no {IDENTITY_PREFIX} line"))
    }
}

/// The part keys of one backup.
pub struct Keyring {
    hkdf: Hkdf<Sha256>,
}

impl Keyring {
    /// For writing: a fresh ephemeral key; returns its public half for the
    /// manifest.
    pub fn for_recipient(to: &Recipient) -> Result<(Keyring, [u8; 32]), String> {
        let eph = StaticSecret::from(random_bytes::<32>());
        let eph_pub = PublicKey::from(&eph);
        let ring = Self::derive(&eph, &to.0, eph_pub.as_bytes(), to.0.as_bytes())?;
        Ok((ring, *eph_pub.as_bytes()))
    }

    /// For reading: the identity and the manifest's ephemeral public key.
    pub fn for_identity(id: &Identity, ephemeral: &[u8; 32]) -> Result<Keyring, String> {
        let own = PublicKey::from(&id.0);
        Self::derive(
            &id.0,
            &PublicKey::from(*ephemeral),
            ephemeral,
            own.as_bytes(),
        )
    }

    fn derive(
        secret: &StaticSecret,
        peer: &PublicKey,
        eph_pub: &[u8; 32],
        recipient_pub: &[u8; 32],
    ) -> Result<Keyring, String> {
        let shared = secret.diffie_hellman(peer);
        if !shared.was_contributory() {
            return Err("the backup's key exchange uses a weak public key".into());
        }
        let mut salt = [0u8; 64];
        salt[..32].copy_from_slice(eph_pub);
        salt[32..].copy_from_slice(recipient_pub);
        Ok(Keyring {
            hkdf: Hkdf::<Sha256>::new(Some(&salt), shared.as_bytes()),
        })
    }

    pub fn part(&self, name: &str) -> Result<PartCipher, String> {
        let mut key = [0u8; 32];
        let mut info = HKDF_INFO.to_vec();
        info.extend_from_slice(name.as_bytes());
        self.hkdf
            .expand(&info, &mut key)
            .map_err(|_| "cannot derive a part key".to_owned())?;
        let cipher = XChaCha20Poly1305::new_from_slice(&key)
            .map_err(|_| "cannot derive a part key".to_owned())?;
        Ok(PartCipher { cipher, next: 0 })
    }
}

/// Seals or opens the chunks of one part, in order.
pub struct PartCipher {
    cipher: XChaCha20Poly1305,
    next: u64,
}

impl PartCipher {
    fn nonce(&self, last: bool) -> XNonce {
        let mut n = [0u8; 24];
        n[..8].copy_from_slice(&self.next.to_be_bytes());
        n[8] = u8::from(last);
        XNonce::from(n)
    }

    pub fn seal(&mut self, plain: &[u8], last: bool) -> Result<Vec<u8>, String> {
        let out = self
            .cipher
            .encrypt(&self.nonce(last), plain)
            .map_err(|_| "encryption failed".to_owned())?;
        self.next += 1;
        Ok(out)
    }

    /// `None` when the chunk does not authenticate (wrong key, altered,
    /// out of order or wrongly flagged as last).
    pub fn open(&mut self, sealed: &[u8], last: bool) -> Option<Vec<u8>> {
        let out = self.cipher.decrypt(&self.nonce(last), sealed).ok()?;
        self.next += 1;
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_file_round_trips_and_names_its_recipient() {
        let id = Identity::generate();
        let text = id.file_text();
        let back = Identity::parse(&text).unwrap();
        assert_eq!(back.recipient(), id.recipient());
        assert!(text.contains(&id.recipient().to_string()));
        let r: Recipient = id.recipient().to_string().parse().unwrap();
        assert_eq!(r, id.recipient());
    }

    #[test]
    fn bad_keys_say_what_is_wrong() {
        assert!(
            "AAAA"
                .parse::<Recipient>()
                .unwrap_err()
                .contains("backup-recipient:")
        );
        assert!(
            "backup-recipient:AAAA"
                .parse::<Recipient>()
                .unwrap_err()
                .contains("32 bytes")
        );
        assert!(Identity::parse("# only a comment\n").is_err());
        assert!(Identity::parse("secret = 1\n").is_err());
    }

    #[test]
    fn only_the_identity_opens_and_chunks_stay_in_order() {
        let id = Identity::generate();
        let (ring, eph) = Keyring::for_recipient(&id.recipient()).unwrap();
        let mut w = ring.part("payments").unwrap();
        let a = w.seal(b"first", false).unwrap();
        let b = w.seal(b"second", true).unwrap();

        let open = Keyring::for_identity(&id, &eph).unwrap();
        let mut r = open.part("payments").unwrap();
        assert_eq!(r.open(&a, false).unwrap(), b"first");
        assert_eq!(r.open(&b, true).unwrap(), b"second");

        // Another part's key, another identity, a swapped order or a
        // dropped "last" flag all fail.
        assert!(open.part("refunds").unwrap().open(&a, false).is_none());
        let other = Keyring::for_identity(&Identity::generate(), &eph).unwrap();
        assert!(other.part("payments").unwrap().open(&a, false).is_none());
        assert!(open.part("payments").unwrap().open(&b, true).is_none());
        let mut cut = open.part("payments").unwrap();
        cut.open(&a, false).unwrap();
        assert!(cut.open(&b, false).is_none());
    }
}
