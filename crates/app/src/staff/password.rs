//! Staff passwords: at least 12 characters, not a common password (or one
//! dressed up with digits, symbols or repetition), no composition rules.
//! Hashing is Argon2id, run off the async threads with a cap on how many
//! run at once, so a flood of sign-in attempts cannot starve other pages.

use std::collections::HashSet;
use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

pub const MIN_LENGTH: usize = 12;
pub const MAX_LENGTH: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    #[error("use at least 12 characters; a few unrelated words make a good password")]
    TooShort,
    #[error("use at most 128 characters")]
    TooLong,
    #[error("this password is too common: it appears in lists of leaked passwords")]
    Common,
    #[error("do not use your e-mail address in your password")]
    ContainsEmail,
    #[error("this password is too repetitive")]
    Repetitive,
    #[error("the two passwords do not match")]
    Mismatch,
}

fn common() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        include_str!("../../data/common-passwords.txt")
            .lines()
            .collect()
    })
}

/// Checks a new password against the policy.
pub fn check_new_password(
    password: &str,
    confirm: &str,
    email: &str,
) -> Result<(), PasswordProblem> {
    let n = password.chars().count();
    if n < MIN_LENGTH {
        return Err(PasswordProblem::TooShort);
    }
    if n > MAX_LENGTH {
        return Err(PasswordProblem::TooLong);
    }
    if password != confirm {
        return Err(PasswordProblem::Mismatch);
    }
    let lower = password.to_lowercase();
    let local = email.split('@').next().unwrap_or("").to_lowercase();
    if local.len() >= 4 && lower.contains(&local) {
        return Err(PasswordProblem::ContainsEmail);
    }
    let distinct: HashSet<char> = lower.chars().collect();
    if distinct.len() <= 3 {
        return Err(PasswordProblem::Repetitive);
    }
    let list = common();
    if list.contains(lower.as_str()) {
        return Err(PasswordProblem::Common);
    }
    // "Sunshine2026!" and "2026sunshine" are "sunshine".
    let core = lower.trim_matches(|c: char| !c.is_alphabetic());
    if core.chars().count() >= 4 && list.contains(core) {
        return Err(PasswordProblem::Common);
    }
    // "qwertyqwerty", "abcabcabcabc": a short or common piece repeated.
    let chars: Vec<char> = lower.chars().collect();
    for len in 1..=chars.len() / 2 {
        if chars.len().is_multiple_of(len) && chars.chunks(len).all(|c| c == &chars[..len]) {
            let piece: String = chars[..len].iter().collect();
            if len <= 4 || list.contains(piece.as_str()) {
                return Err(PasswordProblem::Repetitive);
            }
        }
    }
    Ok(())
}

/// Argon2id with a bound on concurrent hashes.
pub struct Hasher {
    permits: Semaphore,
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Failed(String),
}

impl Hasher {
    pub fn new(concurrent: usize) -> Hasher {
        Hasher {
            permits: Semaphore::new(concurrent.max(1)),
        }
    }

    pub async fn hash(&self, password: &SecretString) -> Result<String, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| HashError::Failed(e.to_string()))?;
        let pw = password.clone();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(pw.expose_secret().as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| HashError::Failed(e.to_string()))
        })
        .await
        .map_err(|e| HashError::Failed(e.to_string()))?
    }

    /// Verifies against `stored`; with `None` (no such user) it verifies
    /// against a fixed hash so both cases cost the same.
    pub async fn verify(
        &self,
        password: &SecretString,
        stored: Option<String>,
    ) -> Result<bool, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| HashError::Failed(e.to_string()))?;
        let pw = password.clone();
        let (hash, real) = match stored {
            Some(h) => (h, true),
            None => (dummy_hash().to_owned(), false),
        };
        tokio::task::spawn_blocking(move || {
            let parsed = PasswordHash::new(&hash).map_err(|e| HashError::Failed(e.to_string()))?;
            let ok = Argon2::default()
                .verify_password(pw.expose_secret().as_bytes(), &parsed)
                .is_ok();
            Ok(ok && real)
        })
        .await
        .map_err(|e| HashError::Failed(e.to_string()))?
    }
}

/// A valid Argon2id hash of a random value, computed once.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        let secret = crate::crypto::random_token(24);
        Argon2::default()
            .hash_password(secret.as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pw: &str) -> Result<(), PasswordProblem> {
        check_new_password(pw, pw, "maria.lopez@springfield.example")
    }

    #[test]
    fn policy() {
        assert_eq!(check("short"), Err(PasswordProblem::TooShort));
        assert_eq!(check("123qweasdzxc"), Err(PasswordProblem::Common));
        assert_eq!(check("Sunshine2026!!"), Err(PasswordProblem::Common));
        assert_eq!(check("2026password!"), Err(PasswordProblem::Common));
        assert_eq!(check("qwertyqwerty"), Err(PasswordProblem::Repetitive));
        assert_eq!(check("abcabcabcabc"), Err(PasswordProblem::Repetitive));
        assert_eq!(check("aaaaaaaaaaaaaa"), Err(PasswordProblem::Repetitive));
        assert_eq!(
            check("my maria.lopez pw 1"),
            Err(PasswordProblem::ContainsEmail)
        );
        assert_eq!(
            check_new_password("correct horse battery", "correct horse batter", "a@b.c"),
            Err(PasswordProblem::Mismatch)
        );
        assert_eq!(check("correct horse battery staple"), Ok(()));
        assert_eq!(check("Tulip-lantern-92-orbit"), Ok(()));
    }

    #[tokio::test]
    async fn hash_and_verify() {
        let h = Hasher::new(2);
        let pw = SecretString::from("correct horse battery staple".to_owned());
        let stored = h.hash(&pw).await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(h.verify(&pw, Some(stored.clone())).await.unwrap());
        let wrong = SecretString::from("correct horse battery stapler".to_owned());
        assert!(!h.verify(&wrong, Some(stored)).await.unwrap());
        assert!(!h.verify(&pw, None).await.unwrap());
    }
}
