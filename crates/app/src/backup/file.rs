//! The backup file: our own format, so one backup restores into SQLite or
//! PostgreSQL alike.
//!
//! ```text
//! "CITYTELLER-BACKUP\n"             magic
//! part, part, …                     one per table, back to back
//! manifest                          JSON (see [`Manifest`])
//! signature                         64 bytes, Ed25519 over DOMAIN ‖ manifest
//! manifest offset (u64 BE), manifest length (u32 BE), "CTBK-END"
//! ```
//!
//! A part is a run of chunks, each `length (u32 BE) ‖ sealed bytes`; a
//! chunk opens (see [`super::crypt`]) to deflate-compressed JSON lines, one
//! array of cells per row. The manifest gives each part's offset, length
//! and SHA-256 over its sealed bytes, so anyone with the public key checks
//! a backup completely without being able to read it.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::BackupError;
use super::crypt::{Keyring, PartCipher};

pub const MAGIC: &[u8] = b"CITYTELLER-BACKUP\n";
const END: &[u8] = b"CTBK-END";
const TRAILER: u64 = 8 + 4 + 8;
const DOMAIN: &[u8] = b"cityteller backup manifest v1\n";
pub const FORMAT: &str = "cityteller-backup";
pub const FORMAT_VERSION: u32 = 1;
pub const SCHEME: &str = "x25519-hkdf-sha256-xchacha20poly1305";
pub const COMPRESSION: &str = "deflate";
/// Rows are gathered into chunks of about this many bytes before
/// compression.
const CHUNK_TARGET: usize = 1 << 20;
/// No chunk this program writes comes near these; larger ones are damage.
const MAX_SEALED: u32 = 64 << 20;
const MAX_PLAIN: usize = 256 << 20;
const MAX_MANIFEST: u32 = 16 << 20;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub created_at: jiff::Timestamp,
    pub cityteller_version: String,
    /// "sqlite" or "postgres": where it was taken (it restores into either).
    pub source: String,
    /// The schema migration the data is at.
    pub schema_version: i64,
    pub audit_head: AuditHead,
    pub encryption: Encryption,
    pub compression: String,
    /// The Ed25519 public key (base64) that signed this manifest, so a
    /// mismatch can be named; the verifier never trusts it.
    pub signed_by: String,
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AuditHead {
    pub seq: i64,
    pub hash: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Encryption {
    pub scheme: String,
    pub recipient: String,
    /// The backup's own X25519 public key, base64.
    pub ephemeral: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Part {
    /// The table.
    pub name: String,
    pub columns: Vec<Column>,
    pub rows: u64,
    pub offset: u64,
    pub length: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Column {
    pub name: String,
    pub kind: ColumnKind,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ColumnKind {
    Integer,
    Text,
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
}

impl Cell {
    fn to_json(&self) -> serde_json::Value {
        match self {
            Cell::Null => serde_json::Value::Null,
            Cell::Int(i) => serde_json::Value::from(*i),
            Cell::Text(s) => serde_json::Value::from(s.as_str()),
        }
    }

    fn from_json(v: serde_json::Value, kind: ColumnKind) -> Option<Cell> {
        match (v, kind) {
            (serde_json::Value::Null, _) => Some(Cell::Null),
            (serde_json::Value::Number(n), ColumnKind::Integer) => n.as_i64().map(Cell::Int),
            (serde_json::Value::String(s), ColumnKind::Text) => Some(Cell::Text(s)),
            _ => None,
        }
    }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        file: path.display().to_string(),
        source,
    }
}

/// Writes a backup to `NAME.partial` and renames it into place only once
/// it is complete and on disk.
pub struct Writer {
    path: PathBuf,
    partial: PathBuf,
    out: BufWriter<File>,
    pos: u64,
    parts: Vec<Part>,
    keyring: Keyring,
}

/// The part being written.
pub struct PartWriter {
    name: String,
    columns: Vec<Column>,
    cipher: PartCipher,
    buf: Vec<u8>,
    rows: u64,
    offset: u64,
    hash: Sha256,
}

impl Writer {
    pub fn create(path: PathBuf, keyring: Keyring) -> Result<Writer, BackupError> {
        let mut partial = path.clone().into_os_string();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        if path.exists() {
            return Err(BackupError::Io {
                file: path.display().to_string(),
                source: std::io::Error::new(std::io::ErrorKind::AlreadyExists, "already exists"),
            });
        }
        let file = opts.open(&partial).map_err(io_err(&partial))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.write_all(MAGIC).map_err(io_err(&partial))?;
        Ok(Writer {
            path,
            partial,
            out,
            pos: MAGIC.len() as u64,
            parts: Vec::new(),
            keyring,
        })
    }

    pub fn start_part(&self, name: &str, columns: Vec<Column>) -> Result<PartWriter, BackupError> {
        Ok(PartWriter {
            name: name.to_owned(),
            columns,
            cipher: self.keyring.part(name).map_err(BackupError::Crypto)?,
            buf: Vec::with_capacity(CHUNK_TARGET + 4096),
            rows: 0,
            offset: self.pos,
            hash: Sha256::new(),
        })
    }

    /// Adds a row to the part's buffer; `true` when the buffer is full and
    /// the caller should [`Writer::write_chunk`] (compression, encryption
    /// and the write are the slow part, which the caller may move off the
    /// async runtime's threads).
    pub fn push_row(&mut self, part: &mut PartWriter, cells: &[Cell]) -> Result<bool, BackupError> {
        let row: Vec<serde_json::Value> = cells.iter().map(Cell::to_json).collect();
        serde_json::to_writer(&mut part.buf, &row)
            .map_err(|e| BackupError::Crypto(format!("cannot encode a row: {e}")))?;
        part.buf.push(b'\n');
        part.rows += 1;
        Ok(part.buf.len() >= CHUNK_TARGET)
    }

    /// Compresses, seals and writes the rows gathered so far.
    pub fn write_chunk(&mut self, part: &mut PartWriter, last: bool) -> Result<(), BackupError> {
        // Level 3: most of deflate's gain on this data at a fraction of
        // the time of the default level; a two-core server keeps serving.
        let packed = miniz_oxide::deflate::compress_to_vec(&part.buf, 3);
        part.buf.clear();
        let sealed = part
            .cipher
            .seal(&packed, last)
            .map_err(BackupError::Crypto)?;
        let len = u32::try_from(sealed.len())
            .map_err(|_| BackupError::Crypto("a chunk is too large".into()))?;
        let head = len.to_be_bytes();
        part.hash.update(head);
        part.hash.update(&sealed);
        self.out.write_all(&head).map_err(io_err(&self.partial))?;
        self.out.write_all(&sealed).map_err(io_err(&self.partial))?;
        self.pos += 4 + sealed.len() as u64;
        Ok(())
    }

    pub fn finish_part(&mut self, mut part: PartWriter) -> Result<(), BackupError> {
        self.write_chunk(&mut part, true)?;
        self.parts.push(Part {
            name: part.name,
            columns: part.columns,
            rows: part.rows,
            offset: part.offset,
            length: self.pos - part.offset,
            sha256: hex::encode(part.hash.finalize()),
        });
        Ok(())
    }

    /// Signs and writes the manifest, then moves the file into place.
    /// Returns the manifest as written.
    pub fn finish(
        mut self,
        mut manifest: Manifest,
        key: &SigningKey,
    ) -> Result<(PathBuf, Manifest), BackupError> {
        manifest.parts = std::mem::take(&mut self.parts);
        let bytes = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| BackupError::Crypto(format!("cannot encode the manifest: {e}")))?;
        let len = u32::try_from(bytes.len())
            .map_err(|_| BackupError::Crypto("the manifest is too large".into()))?;
        let mut signed = DOMAIN.to_vec();
        signed.extend_from_slice(&bytes);
        let sig = key.sign(&signed);
        let err = io_err(&self.partial);
        self.out.write_all(&bytes).map_err(&err)?;
        self.out.write_all(&sig.to_bytes()).map_err(&err)?;
        self.out.write_all(&self.pos.to_be_bytes()).map_err(&err)?;
        self.out.write_all(&len.to_be_bytes()).map_err(&err)?;
        self.out.write_all(END).map_err(&err)?;
        let file = self.out.into_inner().map_err(|e| err(e.into_error()))?;
        file.sync_all().map_err(&err)?;
        drop(file);
        std::fs::rename(&self.partial, &self.path).map_err(io_err(&self.path))?;
        if let Some(dir) = self.path.parent()
            && let Ok(d) = File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok((self.path, manifest))
    }

    /// Removes the unfinished file (after an error).
    pub fn abandon(self) {
        drop(self.out);
        let _ = std::fs::remove_file(&self.partial);
    }
}

/// A backup whose structure and manifest signature have been checked.
pub struct BackupFile {
    pub path: PathBuf,
    pub manifest: Manifest,
    pub size: u64,
}

impl BackupFile {
    /// Reads the trailer and the manifest and checks the signature with
    /// `key`. Part hashes are checked by [`BackupFile::check_parts`].
    pub fn open(path: &Path, key: &VerifyingKey) -> Result<BackupFile, BackupError> {
        let file_label = path.display().to_string();
        let bad = |reason: String| BackupError::Malformed {
            file: file_label.clone(),
            reason,
        };
        let mut f = File::open(path).map_err(io_err(path))?;
        let size = f.metadata().map_err(io_err(path))?.len();
        let mut magic = vec![0u8; MAGIC.len()];
        if size < MAGIC.len() as u64 + TRAILER + 64
            || f.read_exact(&mut magic).is_err()
            || magic != MAGIC
        {
            return Err(BackupError::NotABackup(file_label));
        }
        let mut trailer = [0u8; TRAILER as usize];
        f.seek(SeekFrom::Start(size - TRAILER))
            .map_err(io_err(path))?;
        f.read_exact(&mut trailer).map_err(io_err(path))?;
        if &trailer[12..] != END {
            return Err(bad(
                "the end marker is missing (the file was cut short or damaged)".into(),
            ));
        }
        let offset = u64::from_be_bytes(trailer[..8].try_into().unwrap_or_default());
        let len = u32::from_be_bytes(trailer[8..12].try_into().unwrap_or_default());
        if len > MAX_MANIFEST
            || offset < MAGIC.len() as u64
            || offset.checked_add(u64::from(len) + 64 + TRAILER) != Some(size)
        {
            return Err(bad(
                "the manifest's position in the trailer does not fit the file".into(),
            ));
        }
        f.seek(SeekFrom::Start(offset)).map_err(io_err(path))?;
        let mut bytes = vec![0u8; len as usize];
        f.read_exact(&mut bytes).map_err(io_err(path))?;
        let mut sig = [0u8; 64];
        f.read_exact(&mut sig).map_err(io_err(path))?;
        let mut signed = DOMAIN.to_vec();
        signed.extend_from_slice(&bytes);
        let signature = ed25519_dalek::Signature::from_bytes(&sig);
        let signer = || {
            serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v.get("signed_by")?.as_str().map(str::to_owned))
        };
        if key.verify_strict(&signed, &signature).is_err() {
            use base64::Engine;
            let expected = base64::engine::general_purpose::STANDARD.encode(key.as_bytes());
            // Naming another key is only believable in a manifest that
            // still reads; anything else is an alteration.
            return Err(match signer() {
                Some(named) if named != expected => BackupError::WrongSigner {
                    file: file_label,
                    expected,
                    found: named,
                },
                _ => BackupError::BadSignature(file_label),
            });
        }
        let manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| bad(format!("the signed manifest cannot be read: {e}")))?;
        if manifest.format != FORMAT || manifest.format_version != FORMAT_VERSION {
            return Err(bad(format!(
                "format {} version {} is not one this program reads ({FORMAT} version {FORMAT_VERSION})",
                manifest.format, manifest.format_version
            )));
        }
        if manifest.encryption.scheme != SCHEME || manifest.compression != COMPRESSION {
            return Err(bad(format!(
                "encryption {:?} with compression {:?} is not one this program reads",
                manifest.encryption.scheme, manifest.compression
            )));
        }
        // The parts tile the file between the magic and the manifest.
        let mut at = MAGIC.len() as u64;
        for p in &manifest.parts {
            if p.offset != at {
                return Err(bad(format!(
                    "part {} does not start where the one before it ends",
                    p.name
                )));
            }
            at = p.offset.saturating_add(p.length);
        }
        if at != offset {
            return Err(bad("the parts do not reach the manifest".into()));
        }
        Ok(BackupFile {
            path: path.to_owned(),
            manifest,
            size,
        })
    }

    /// Checks every part's SHA-256; `progress` gets the bytes read so far.
    pub fn check_parts<F: FnMut(u64)>(&self, mut progress: F) -> Result<(), BackupError> {
        let mut f =
            BufReader::with_capacity(1 << 20, File::open(&self.path).map_err(io_err(&self.path))?);
        f.seek(SeekFrom::Start(MAGIC.len() as u64))
            .map_err(io_err(&self.path))?;
        let mut done = 0u64;
        let mut buf = vec![0u8; 1 << 20];
        for p in &self.manifest.parts {
            let mut h = Sha256::new();
            let mut left = p.length;
            while left > 0 {
                let n = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
                f.read_exact(&mut buf[..n]).map_err(io_err(&self.path))?;
                h.update(&buf[..n]);
                left -= n as u64;
                done += n as u64;
                progress(done);
            }
            if hex::encode(h.finalize()) != p.sha256 {
                return Err(BackupError::PartDamaged {
                    file: self.path.display().to_string(),
                    part: p.name.clone(),
                });
            }
        }
        Ok(())
    }

    /// Reads one part's rows, chunk by chunk, checking its hash as it goes
    /// (a part that does not match is refused at its end, before the
    /// caller commits anything).
    pub fn read_part<'a>(
        &'a self,
        part: &'a Part,
        keyring: &Keyring,
    ) -> Result<PartReader<'a>, BackupError> {
        let mut f =
            BufReader::with_capacity(1 << 20, File::open(&self.path).map_err(io_err(&self.path))?);
        f.seek(SeekFrom::Start(part.offset))
            .map_err(io_err(&self.path))?;
        Ok(PartReader {
            file: self,
            part,
            input: f,
            left: part.length,
            cipher: keyring.part(&part.name).map_err(BackupError::Crypto)?,
            hash: Sha256::new(),
            rows: 0,
            done: false,
        })
    }
}

pub struct PartReader<'a> {
    file: &'a BackupFile,
    part: &'a Part,
    input: BufReader<File>,
    left: u64,
    cipher: PartCipher,
    hash: Sha256,
    rows: u64,
    done: bool,
}

impl PartReader<'_> {
    fn damaged(&self, what: &str) -> BackupError {
        BackupError::Malformed {
            file: self.file.path.display().to_string(),
            reason: format!("part {}: {what}", self.part.name),
        }
    }

    /// The next chunk's rows; `None` after the last chunk, once the part's
    /// hash and row count have been checked.
    pub fn next_rows(&mut self) -> Result<Option<Vec<Vec<Cell>>>, BackupError> {
        if self.done {
            return Ok(None);
        }
        if self.left < 4 {
            return Err(self.damaged("it ends inside a chunk"));
        }
        let mut head = [0u8; 4];
        self.input
            .read_exact(&mut head)
            .map_err(io_err(&self.file.path))?;
        let len = u32::from_be_bytes(head);
        if len > MAX_SEALED || u64::from(len) + 4 > self.left {
            return Err(self.damaged("a chunk's length does not fit the part"));
        }
        let mut sealed = vec![0u8; len as usize];
        self.input
            .read_exact(&mut sealed)
            .map_err(io_err(&self.file.path))?;
        self.hash.update(head);
        self.hash.update(&sealed);
        self.left -= 4 + u64::from(len);
        let last = self.left == 0;
        let packed = self
            .cipher
            .open(&sealed, last)
            .ok_or_else(|| BackupError::Decrypt {
                file: self.file.path.display().to_string(),
                part: self.part.name.clone(),
            })?;
        let plain = miniz_oxide::inflate::decompress_to_vec_with_limit(&packed, MAX_PLAIN)
            .map_err(|_| self.damaged("a chunk does not decompress"))?;
        let mut rows = Vec::new();
        for line in plain.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            self.rows += 1;
            let values: Vec<serde_json::Value> = serde_json::from_slice(line)
                .map_err(|e| self.damaged(&format!("row {} is not readable: {e}", self.rows)))?;
            if values.len() != self.part.columns.len() {
                return Err(self.damaged(&format!(
                    "row {} has {} values for {} columns",
                    self.rows,
                    values.len(),
                    self.part.columns.len()
                )));
            }
            let mut cells = Vec::with_capacity(values.len());
            for (v, c) in values.into_iter().zip(&self.part.columns) {
                let Some(cell) = Cell::from_json(v, c.kind) else {
                    return Err(self.damaged(&format!(
                        "row {}: {} is not of kind {:?}",
                        self.rows, c.name, c.kind
                    )));
                };
                cells.push(cell);
            }
            rows.push(cells);
        }
        if last {
            self.done = true;
            let sum = hex::encode(std::mem::take(&mut self.hash).finalize());
            if sum != self.part.sha256 {
                return Err(BackupError::PartDamaged {
                    file: self.file.path.display().to_string(),
                    part: self.part.name.clone(),
                });
            }
            if self.rows != self.part.rows {
                return Err(self.damaged(&format!(
                    "it holds {} rows, the manifest says {}",
                    self.rows, self.part.rows
                )));
            }
        }
        Ok(Some(rows))
    }
}
