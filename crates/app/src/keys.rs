//! Secrets: from the key file (0600, outside the database) or from the
//! `CITYTELLER_KEYS` environment variable holding the same TOML. Never from
//! the database, never in logs (`secrecy` types hide them from `Debug`).

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretBox, SecretString};

use crate::crypto::fields::{FieldCipher, FieldKey};
use crate::crypto::random_bytes;

pub struct Keys {
    /// Signs CSRF tokens and other values bound to a session.
    cookie_key: SecretBox<[u8; 32]>,
    pub fields: FieldCipher,
    /// Bearer key for the processor's API.
    pub processor_api_key: SecretString,
    /// Accepted webhook signing secrets (several during a rotation; the
    /// first signs, for the sandbox).
    pub webhook_secrets: Vec<SecretString>,
    pub smtp_password: Option<SecretString>,
    /// Signs audit checkpoints. Optional for key files made before it
    /// existed; production refuses to start without it.
    pub audit_signing: Option<ed25519_dalek::SigningKey>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(redacted)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("{path}: cannot read key file: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: key file is readable by other users (mode {mode:o}); run chmod 600 on it")]
    Permissions { path: String, mode: u32 },
    #[error("{origin}: {problems}")]
    Invalid { origin: String, problems: String },
    #[error("{path}: cannot write key file: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

impl Keys {
    /// `CITYTELLER_KEYS` wins over the file.
    pub fn load(path: &Path, env_value: Option<String>) -> Result<Keys, KeysError> {
        if let Some(text) = env_value {
            return Self::parse(&text, "environment variable CITYTELLER_KEYS");
        }
        let label = path.display().to_string();
        check_permissions(path)?;
        let text = std::fs::read_to_string(path).map_err(|source| KeysError::Read {
            path: label.clone(),
            source,
        })?;
        Self::parse(&text, &label)
    }

    pub fn parse(text: &str, origin: &str) -> Result<Keys, KeysError> {
        let invalid = |problems: String| KeysError::Invalid {
            origin: origin.to_owned(),
            problems,
        };
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| invalid(format!("not valid TOML: {}", e.message())))?;
        let mut problems = Vec::new();
        let key32 = |name: &str, v: Option<&toml::Value>, problems: &mut Vec<String>| {
            let Some(s) = v.and_then(toml::Value::as_str) else {
                problems.push(format!("{name} is missing"));
                return None;
            };
            match STANDARD.decode(s.trim()) {
                Ok(b) if b.len() == 32 => {
                    let mut k = [0u8; 32];
                    k.copy_from_slice(&b);
                    Some(SecretBox::new(Box::new(k)))
                }
                _ => {
                    problems.push(format!("{name} must be 32 bytes in base64"));
                    None
                }
            }
        };
        let cookie_key = key32("cookie_key", table.get("cookie_key"), &mut problems);
        let blind = key32(
            "blind_index_key",
            table.get("blind_index_key"),
            &mut problems,
        );
        let current = table
            .get("field_key_current")
            .and_then(toml::Value::as_str)
            .map(str::to_owned);
        let mut field_keys = Vec::new();
        match table.get("field_keys").and_then(toml::Value::as_table) {
            Some(t) => {
                for (id, v) in t {
                    if let Some(k) = key32(&format!("field_keys.{id}"), Some(v), &mut problems) {
                        field_keys.push(FieldKey {
                            id: id.clone(),
                            key: k,
                        });
                    }
                }
            }
            None => problems.push("field_keys table is missing".into()),
        }
        let processor = table.get("processor").and_then(toml::Value::as_table);
        let api_key = processor
            .and_then(|p| p.get("api_key"))
            .and_then(toml::Value::as_str)
            .map(|s| SecretString::from(s.to_owned()));
        if api_key.is_none() {
            problems.push("processor.api_key is missing".into());
        }
        let webhook_secrets: Vec<SecretString> = processor
            .and_then(|p| p.get("webhook_secrets"))
            .and_then(toml::Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(toml::Value::as_str)
                    .map(|s| SecretString::from(s.to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        if webhook_secrets.is_empty() {
            problems.push("processor.webhook_secrets needs at least one secret".into());
        }
        if webhook_secrets.iter().any(|s| s.expose_secret().len() < 16) {
            problems.push("every webhook secret needs at least 16 characters".into());
        }
        let audit_signing = match table.get("audit_signing_key") {
            None => None,
            Some(v) => key32("audit_signing_key", Some(v), &mut problems)
                .map(|k| ed25519_dalek::SigningKey::from_bytes(k.expose_secret())),
        };
        let smtp_password = table
            .get("mail")
            .and_then(toml::Value::as_table)
            .and_then(|m| m.get("smtp_password"))
            .and_then(toml::Value::as_str)
            .map(|s| SecretString::from(s.to_owned()));

        let fields = match (&current, blind) {
            (Some(cur), Some(blind)) => match FieldCipher::new(field_keys, cur, blind) {
                Ok(c) => Some(c),
                Err(_) => {
                    problems.push(format!(
                        "field_key_current names {cur:?}, which is not in field_keys"
                    ));
                    None
                }
            },
            (None, _) => {
                problems.push("field_key_current is missing".into());
                None
            }
            _ => None,
        };
        match (cookie_key, fields, api_key) {
            (Some(cookie_key), Some(fields), Some(processor_api_key)) if problems.is_empty() => {
                Ok(Keys {
                    cookie_key,
                    fields,
                    processor_api_key,
                    webhook_secrets,
                    smtp_password,
                    audit_signing,
                })
            }
            _ => Err(invalid(problems.join("; "))),
        }
    }

    /// The audit checkpoints' public key, base64, for auditors.
    pub fn audit_public_key(&self) -> Option<String> {
        self.audit_signing
            .as_ref()
            .map(|k| STANDARD.encode(k.verifying_key().to_bytes()))
    }

    pub fn cookie_key(&self) -> &[u8] {
        self.cookie_key.expose_secret()
    }

    /// A fresh key file for a new installation (`keys init`, the demo).
    pub fn generate_file_text() -> String {
        let b = |k: [u8; 32]| STANDARD.encode(k);
        format!(
            "# cityteller key file. Keep it readable by the service user only (chmod 600),\n\
             # outside the database and its backups, and keep an offline copy:\n\
             # without field_keys the personal data in the database cannot be read.\n\
             cookie_key = \"{}\"\n\
             blind_index_key = \"{}\"\n\
             # Signs audit-log checkpoints; auditors verify them with the public\n\
             # key that `cityteller keys public` prints.\n\
             audit_signing_key = \"{}\"\n\
             field_key_current = \"k1\"\n\n\
             [field_keys]\n\
             k1 = \"{}\"\n\n\
             [processor]\n\
             # For the sandbox these are generated; for a real processor paste the\n\
             # secret API key and the webhook signing secret(s) here.\n\
             api_key = \"sk_sandbox_{}\"\n\
             webhook_secrets = [\"whsec_{}\"]\n",
            b(random_bytes()),
            b(random_bytes()),
            b(random_bytes()),
            b(random_bytes()),
            crate::crypto::random_token(24),
            crate::crypto::random_token(24),
        )
    }

    /// Writes a new key file with mode 0600, refusing to overwrite one.
    pub fn write_new_file(path: &Path) -> Result<(), KeysError> {
        use std::io::Write;
        let label = path.display().to_string();
        let write_err = |source| KeysError::Write {
            path: label.clone(),
            source,
        };
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(write_err)?;
        }
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(path).map_err(write_err)?;
        f.write_all(Self::generate_file_text().as_bytes())
            .map_err(write_err)?;
        f.sync_all().map_err(write_err)
    }
}

#[cfg(unix)]
fn check_permissions(path: &Path) -> Result<(), KeysError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|source| KeysError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeysError::Permissions {
            path: path.display().to_string(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path) -> Result<(), KeysError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_file_parses() {
        let text = Keys::generate_file_text();
        let keys = Keys::parse(&text, "test").unwrap();
        assert_eq!(keys.webhook_secrets.len(), 1);
        assert_eq!(keys.cookie_key().len(), 32);
    }

    #[test]
    fn every_problem_is_named() {
        let err = Keys::parse("cookie_key = \"short\"\n", "test")
            .unwrap_err()
            .to_string();
        for needle in [
            "cookie_key must be 32 bytes",
            "blind_index_key is missing",
            "field_keys table is missing",
            "processor.api_key is missing",
            "webhook_secrets needs at least one",
            "field_key_current is missing",
        ] {
            assert!(err.contains(needle), "{err}");
        }
    }

    #[test]
    fn written_file_is_private_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.toml");
        Keys::write_new_file(&path).unwrap();
        assert!(Keys::load(&path, None).is_ok());
        assert!(Keys::write_new_file(&path).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                Keys::load(&path, None),
                Err(KeysError::Permissions { .. })
            ));
        }
    }
}
