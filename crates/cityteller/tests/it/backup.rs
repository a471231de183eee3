//! The restore drill as an operator runs it from the README, and what the
//! commands say when the input is wrong.

use std::path::{Path, PathBuf};

use sqlx::Connection;

use super::{artifacts, in_ci, keys_and_bills, run, write_config};

fn backups_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "ctb"));
    v.sort();
    v
}

/// Backs up `source` and restores into `targets` (each empty), as the
/// README's drill does.
async fn drill(dir: PathBuf, source: &str, targets: &[String]) {
    let config = write_config(&dir, source);
    let bare = dir.join("no-recipient.toml");
    std::fs::copy(&config, &bare).unwrap();
    keys_and_bills(&dir, &config);

    // Without a recipient there is nothing to encrypt to.
    let (code, _, err) = run(&bare, &["backup", "create"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("backup.recipient is not set"), "{err}");

    let identity = dir.join("backup-identity.txt");
    let id = identity.display().to_string();
    let (code, out, err) = run(&config, &["backup", "keygen", "--out", &id]);
    assert_eq!(code, 0, "{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with("recipient = "))
        .unwrap()
        .to_owned();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&identity).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the identity is private");
    }
    let (code, _, err) = run(&config, &["backup", "keygen", "--out", &id]);
    assert_eq!(code, 1, "an identity is never overwritten");
    assert!(err.contains(&id), "{err}");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!("[backup]\n{line}\n"));
    std::fs::write(&config, text).unwrap();

    let (code, out, err) = run(&config, &["backup", "create"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("backup written: "), "{out}");
    let file = backups_in(&dir.join("backups")).pop().unwrap();
    let f = file.display().to_string();

    let (code, public, _) = run(&config, &["keys", "public"]);
    assert_eq!(code, 0);
    let public = public.trim().to_owned();
    let (code, out, err) = run(&bare, &["backup", "verify", &f, "--public-key", &public]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("backup OK") && out.contains("not decrypted"),
        "{out}"
    );
    let (code, out, err) = run(&config, &["backup", "verify", &f, "--identity", &id]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("every row read"), "{out}");

    let (code, out, err) = run(
        &config,
        &[
            "backup",
            "prune",
            "--daily",
            "7",
            "--weekly",
            "4",
            "--monthly",
            "12",
            "--dry-run",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("kept 1 backup(s), would remove 0"), "{out}");

    let (code, out, err) = run(&config, &["retention", "run", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "would remove the receipt e-mail address of 0 payment(s) older than 3 year(s)"
        ),
        "{out}"
    );

    // Bad input gets a message that says what and where, never a panic.
    let (code, _, err) = run(&config, &["backup", "verify", "/no/such.ctb"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("/no/such.ctb"), "{err}");
    let tampered = dir.join("tampered.ctb");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[100] ^= 0x40;
    std::fs::write(&tampered, bytes).unwrap();
    let (code, _, err) = run(
        &config,
        &["backup", "verify", &tampered.display().to_string()],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("does not match the SHA-256"), "{err}");
    let garbage = dir.join("garbage.txt");
    std::fs::write(&garbage, "not a key\n").unwrap();
    let stranger = dir.join("stranger.txt");
    assert_eq!(
        run(
            &config,
            &["backup", "keygen", "--out", &stranger.display().to_string()]
        )
        .0,
        0
    );
    let (code, _, err) = run(
        &config,
        &[
            "restore",
            &f,
            "--identity",
            &garbage.display().to_string(),
            "--into",
            &targets[0],
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is not a backup identity"), "{err}");
    let (code, _, err) = run(
        &config,
        &[
            "restore",
            &f,
            "--identity",
            &stranger.display().to_string(),
            "--into",
            &targets[0],
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("this backup is encrypted to"), "{err}");
    let (code, _, err) = run(
        &config,
        &[
            "restore",
            "/no/such.ctb",
            "--identity",
            &id,
            "--into",
            &targets[0],
        ],
    );
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("/no/such.ctb"), "{err}");
    let (code, _, err) = run(
        &config,
        &["restore", &f, "--identity", &id, "--into", source],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("restore only into an empty database"), "{err}");

    for (i, target) in targets.iter().enumerate() {
        let (code, out, err) = run(
            &bare,
            &[
                "restore",
                &f,
                "--identity",
                &id,
                "--into",
                target,
                "--public-key",
                &public,
            ],
        );
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("restored "), "{out}");
        assert!(out.contains("audit log OK"), "{out}");
        assert!(out.contains("restore took "), "{out}");
        // The restored database is a working one: the books and the audit
        // log check out with the ordinary commands.
        let check = dir.join(format!("check-{i}"));
        std::fs::create_dir_all(&check).unwrap();
        let url = if target.contains("://") {
            target.clone()
        } else {
            format!("sqlite://{target}")
        };
        let moved = write_config(&check, &url);
        std::fs::copy(dir.join("keys.toml"), check.join("keys.toml")).unwrap();
        let (code, out, err) = run(&moved, &["audit", "verify"]);
        assert_eq!(code, 0, "{out}{err}");
        let (code, out, err) = run(&moved, &["ledger", "check"]);
        assert_eq!(code, 0, "{out}{err}");
        let (code, _, err) = run(
            &bare,
            &[
                "restore",
                &f,
                "--identity",
                &id,
                "--into",
                target,
                "--public-key",
                &public,
            ],
        );
        assert_eq!(code, 1, "a second restore into the same database: {err}");
        assert!(
            err.contains("is not empty") || err.contains("row(s)"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn the_restore_drill_through_the_command_on_sqlite() {
    let dir = artifacts("backup-sqlite");
    let source = format!("sqlite://{}", dir.join("cityteller.db").display());
    let target = dir.join("restored.db").display().to_string();
    drill(dir, &source, &[target]).await;
}

/// PostgreSQL to PostgreSQL, and the same backup into SQLite.
#[tokio::test]
async fn the_restore_drill_through_the_command_on_postgres() {
    sqlx::any::install_default_drivers();
    let admin = std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut conn = match sqlx::AnyConnection::connect(&admin).await {
        Ok(c) => c,
        Err(e) if in_ci() => panic!("PostgreSQL is required in CI ({admin}): {e}"),
        Err(e) => {
            eprintln!("SKIPPED: PostgreSQL not reachable at {admin}: {e}");
            return;
        }
    };
    let names: Vec<String> = ["src", "dst"]
        .iter()
        .map(|n| format!("ct_test_cli_backup_{n}_{}", std::process::id()))
        .collect();
    let mut urls = Vec::new();
    for name in &names {
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
            .unwrap();
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&format!("/{name}"));
        urls.push(url.to_string());
    }
    let dir = artifacts("backup-postgres");
    let result = tokio::spawn({
        let targets = vec![
            urls[1].clone(),
            format!("sqlite://{}", dir.join("restored.db").display()),
        ];
        let source = urls[0].clone();
        async move { drill(dir, &source, &targets).await }
    })
    .await;
    for name in &names {
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}
