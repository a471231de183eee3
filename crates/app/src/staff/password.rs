//! Staff passwords: at least 12 characters, not a common password (or one
//! dressed up with digits, symbols or repetition), no composition rules.
//! Hashing is Argon2id (19 MiB, two passes), run on a fixed set of threads
//! of its own so a flood of sign-in attempts cannot starve other pages.
//! Each thread keeps its 19 MiB of Argon2 memory and reuses it: allocating
//! it per hash left it behind in the allocator (ten sign-ins under a flood
//! grew the server past 200 MB).

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};

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

type Job = Box<dyn FnOnce() + Send>;

/// Argon2id on `concurrent` threads of its own; jobs wait their turn.
pub struct Hasher {
    jobs: mpsc::Sender<Job>,
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Failed(String),
}

impl Hasher {
    /// Starts the threads; they end when the hasher is dropped.
    pub fn new(concurrent: usize) -> Hasher {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..concurrent.max(1) {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while waiting for a job.
                        let job = match queue.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password-hashing thread");
            }
        }
        Hasher { jobs }
    }

    /// Runs `f` on a hashing thread.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let (done, result) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = done.send(f());
            }))
            .map_err(|_| HashError::Failed("the hashing threads have stopped".into()))?;
        result
            .await
            .map_err(|_| HashError::Failed("a hashing thread stopped".into()))?
    }

    pub async fn hash(&self, password: &SecretString) -> Result<String, HashError> {
        let pw = password.clone();
        self.run(move || hash_now(pw.expose_secret().as_bytes()))
            .await
    }

    /// Verifies against `stored`; with `None` (no such user) it verifies
    /// against a fixed hash so both cases cost the same.
    pub async fn verify(
        &self,
        password: &SecretString,
        stored: Option<String>,
    ) -> Result<bool, HashError> {
        let pw = password.clone();
        self.run(move || {
            let pw = pw.expose_secret().as_bytes();
            match &stored {
                Some(hash) => verify_now(pw, hash),
                None => verify_now(pw, dummy_hash()).map(|_| false),
            }
        })
        .await
    }
}

thread_local! {
    /// This thread's Argon2 memory, kept between hashes.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

fn failed(e: impl std::fmt::Display) -> HashError {
    HashError::Failed(e.to_string())
}

/// Argon2id into `out` with this thread's memory.
fn argon2id(params: Params, pw: &[u8], salt: &[u8], out: &mut [u8]) -> Result<(), HashError> {
    BLOCKS.with(|cell| {
        let mut blocks = cell.borrow_mut();
        let n = params.block_count();
        if blocks.len() < n {
            blocks.resize(n, Block::default());
        }
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into_with_memory(pw, salt, out, &mut blocks[..n])
            .map_err(failed)
    })
}

/// A PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) for `pw` with a
/// new random salt and the default (OWASP) parameters.
fn hash_now(pw: &[u8]) -> Result<String, HashError> {
    let params = Params::default();
    let salt = SaltString::generate(&mut OsRng);
    let mut raw = [0u8; 64];
    let raw = salt.as_salt().decode_b64(&mut raw).map_err(failed)?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2id(params.clone(), pw, raw, &mut out)?;
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        salt.as_str(),
        Output::new(&out).map_err(failed)?
    ))
}

/// Whether `pw` matches the PHC string `stored` (constant-time compare).
fn verify_now(pw: &[u8], stored: &str) -> Result<bool, HashError> {
    let parsed = PasswordHash::new(stored).map_err(failed)?;
    if parsed.algorithm != argon2::ARGON2ID_IDENT || parsed.version.is_some_and(|v| v != 0x13) {
        return Err(HashError::Failed("not an Argon2id v1.3 hash".into()));
    }
    let params = Params::try_from(&parsed).map_err(failed)?;
    let salt = parsed.salt.ok_or_else(|| failed("hash without salt"))?;
    let expected = parsed.hash.ok_or_else(|| failed("hash without output"))?;
    let mut raw = [0u8; 64];
    let raw = salt.decode_b64(&mut raw).map_err(failed)?;
    let mut out = vec![0u8; expected.len()];
    argon2id(params, pw, raw, &mut out)?;
    Ok(crate::crypto::constant_time_eq(&out, expected.as_bytes()))
}

/// A valid Argon2id hash of a random value, computed once.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        let secret = crate::crypto::random_token(24);
        hash_now(secret.as_bytes()).unwrap_or_default()
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

    #[test]
    fn hashes_agree_with_the_argon2_crate_both_ways() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let pw = b"correct horse battery staple";
        let ours = hash_now(pw).unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(pw, &parsed).is_ok());
        assert!(
            Argon2::default()
                .verify_password(b"other", &parsed)
                .is_err()
        );
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default()
            .hash_password(pw, &salt)
            .unwrap()
            .to_string();
        assert!(verify_now(pw, &theirs).unwrap());
        assert!(!verify_now(b"correct horse battery stapler", &theirs).unwrap());
        assert!(verify_now(pw, "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA").is_err());
        // The memory stays with the thread.
        BLOCKS.with(|b| assert_eq!(b.borrow().len(), Params::default().block_count()));
    }

    #[tokio::test]
    async fn hashing_runs_on_its_own_bounded_threads() {
        let h = Hasher::new(2);
        let names = futures_util::future::join_all((0..8).map(|_| {
            h.run(|| {
                std::thread::sleep(std::time::Duration::from_millis(5));
                Ok(std::thread::current().name().map(str::to_owned))
            })
        }))
        .await;
        let names: HashSet<String> = names.into_iter().map(|n| n.unwrap().unwrap()).collect();
        assert!(!names.is_empty() && names.len() <= 2, "{names:?}");
        assert!(names.iter().all(|n| n.starts_with("argon2-")), "{names:?}");
    }
}
