//! The restore drill: load data, back up, destroy, restore into an empty
//! database, and get back every row and a verifying audit chain. Damaged,
//! edited and foreign backups are refused, and so is a database that is
//! not empty.

use std::path::{Path, PathBuf};

use app::audit::Actor;
use app::backup::{self, BackupError, Identity, tables};
use app::config::DatabaseUrl;
use app::staff::roles::Role;
use app::store::Db;
use futures_util::TryStreamExt;
use sqlx::Row;

use crate::db_tests;
use crate::harness::{Backend, Options, TestApp, spawn_with};

db_tests!(
    the_restore_drill_gives_back_every_row_and_a_verifying_chain,
    a_backup_taken_while_the_server_writes_is_one_moment,
    a_damaged_or_edited_backup_is_refused,
    a_backup_signed_by_another_server_is_refused,
    only_the_offline_identity_opens_a_backup,
    restore_refuses_a_database_that_is_not_empty,
    every_table_is_in_the_backup,
    prune_keeps_what_the_policy_says_and_records_it,
    serve_takes_one_backup_per_interval,
    a_table_of_many_chunks_round_trips,
);

async fn quiet_app(b: Backend) -> TestApp {
    spawn_with(
        b,
        Options {
            // Nothing changes the database behind the test's back.
            jobs_in_process: false,
            ..Options::default()
        },
    )
    .await
}

/// As [`quiet_app`], on the manual clock staff sign-in needs.
async fn quiet_app_for_staff(b: Backend) -> TestApp {
    spawn_with(
        b,
        Options {
            jobs_in_process: false,
            manual_clock: true,
            ..Options::default()
        },
    )
    .await
}

/// A paid bill, a signed-in member of staff, a note: most tables get rows.
async fn load_data(t: &TestApp) {
    let (id, _) = t
        .resident()
        .pay_bill(
            "1002-3345",
            "94110",
            "UT-1",
            "4242424242424242",
            "maria@example.com",
        )
        .await;
    t.settled(&id).await;
    let mut staff = t.staff(Role::Supervisor).await;
    let page = staff.get(&format!("/payments/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let note = staff
        .post(
            &format!("/payments/{id}/notes"),
            &[("body", "Called the resident; all fine.")],
        )
        .await;
    assert_eq!(note.status, 303, "{}", note.body);
}

fn key(t: &TestApp) -> ed25519_dalek::VerifyingKey {
    t.app.keys.audit_signing.as_ref().unwrap().verifying_key()
}

async fn take(t: &TestApp, id: &Identity) -> backup::Created {
    backup::create(
        &t.app,
        &t.dir.join("backups"),
        &id.recipient(),
        &Actor::System("test"),
        |_, _| {},
    )
    .await
    .unwrap()
}

/// Every row of every table, each cell as text, in key order.
async fn dump(db: &Db) -> Vec<(String, Vec<Vec<String>>)> {
    let mut out = Vec::new();
    let mut conn = db.reader().acquire().await.unwrap();
    for (table, order) in tables::TABLES {
        let columns = tables::columns(&mut conn, db.backend(), table)
            .await
            .unwrap();
        assert!(!columns.is_empty(), "{table} has columns");
        let list: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        let sql = format!("SELECT {} FROM {table} ORDER BY {order}", list.join(", "));
        let mut rows = sqlx::query(&sql).fetch(&mut *conn);
        let mut got = Vec::new();
        while let Some(r) = rows.try_next().await.unwrap() {
            let cells = columns
                .iter()
                .enumerate()
                .map(|(i, c)| match c.kind {
                    backup::file::ColumnKind::Integer => {
                        format!("{:?}", r.try_get::<Option<i64>, _>(i).unwrap())
                    }
                    backup::file::ColumnKind::Text => {
                        format!("{:?}", r.try_get::<Option<String>, _>(i).unwrap())
                    }
                })
                .collect();
            got.push(cells);
        }
        out.push((table.to_string(), got));
    }
    out
}

async fn count(db: &Db, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(db.reader())
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

async fn the_restore_drill_gives_back_every_row_and_a_verifying_chain(b: Backend) {
    let t = quiet_app_for_staff(b.clone()).await;
    load_data(&t).await;
    let before = dump(t.db()).await;
    for table in [
        "payments",
        "journal_lines",
        "staff_users",
        "payment_notes",
        "audit_events",
    ] {
        let rows = &before.iter().find(|(n, _)| n == table).unwrap().1;
        assert!(!rows.is_empty(), "the drill has rows in {table}");
    }
    let id = Identity::generate();
    let created = take(&t, &id).await;
    assert!(created.path.exists());
    assert_eq!(
        created.rows(),
        before.iter().map(|(_, r)| r.len() as u64).sum::<u64>()
    );
    // The backup is audited in the database it was taken from.
    let last = count(t.db(), "SELECT MAX(seq) FROM audit_events").await;
    let (action, outcome): (String, String) =
        sqlx::query_as("SELECT action, outcome FROM audit_events WHERE seq = $1")
            .bind(last)
            .fetch_one(t.db().reader())
            .await
            .unwrap();
    assert_eq!(
        (action.as_str(), outcome.as_str()),
        ("backup.create", "success")
    );

    // Nothing of the personal data is readable in the file.
    let raw = std::fs::read(&created.path).unwrap();
    for needle in ["Maria Lopez", "maria@example.com", "Maple Ave", "UT-1"] {
        assert!(
            !raw.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} appears in the backup in clear"
        );
    }

    // Destroy: the server stops and its database goes.
    let key = key(&t);
    let target = t.scratch_database(&b, "restored").await;
    let file = created.path.clone();
    let head = created.manifest.audit_head.seq;
    t.stop_unchecked().await;

    let restored = backup::restore(
        &file,
        &id,
        &key,
        &target.url,
        &Actor::System("test"),
        |_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(restored.rows, created.rows());
    assert_eq!(restored.audit_events, u64::try_from(head).unwrap());

    let db = Db::connect(&target.url).await.unwrap();
    let mut after = dump(&db).await;
    // The restore itself is the one event after the backup's head.
    let events = &mut after
        .iter_mut()
        .find(|(n, _)| n == "audit_events")
        .unwrap()
        .1;
    let restore_event = events.pop().unwrap();
    assert!(restore_event.contains(&format!("{:?}", Some("backup.restore"))));
    for (name, rows) in &mut after {
        if name == "audit_head" {
            rows.clear();
        }
    }
    let mut expected = before;
    for (name, rows) in &mut expected {
        if name == "audit_head" {
            rows.clear();
        }
    }
    for ((name, want), (_, got)) in expected.iter().zip(&after) {
        assert_eq!(want, got, "table {name} differs after the restore");
    }
    app::audit::verify::verify_with(&db, Vec::new(), |_| {})
        .await
        .unwrap();
    // New rows continue after the restored ids.
    let max_run = count(&db, "SELECT MAX(id) FROM import_runs").await;
    let mut tx = db.begin().await.unwrap();
    let new_run: i64 = sqlx::query(
        "INSERT INTO import_runs (department, file_name, file_sha256, rows_total, inserted, updated, unchanged, actor, finished_at)
         VALUES ('utilities', 'next.csv', 'x', 0, 0, 0, 0, 'test', 0) RETURNING id",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap()
    .try_get(0)
    .unwrap();
    tx.commit().await.unwrap();
    assert!(new_run > max_run, "new id {new_run} after {max_run}");
    db.close().await;
}

async fn a_backup_taken_while_the_server_writes_is_one_moment(b: Backend) {
    let t = quiet_app(b.clone()).await;
    let id = Identity::generate();
    // A writer adds audit events (each moving the chain head) as fast as it
    // can while backups are taken: each backup's events, head and manifest
    // must agree, or the restore's proof fails.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let app = t.app.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let mut tx = app.db.begin().await.unwrap();
                app::audit::record(
                    &mut tx,
                    app.now(),
                    app::audit::Event {
                        actor: &Actor::System("test"),
                        action: "test.write",
                        target: Some(format!("thing:{n}")),
                        outcome: app::audit::Outcome::Success,
                        source_ip: None,
                        details: serde_json::json!({ "n": n }),
                    },
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
                n += 1;
            }
            n
        })
    };
    let mut backups = Vec::new();
    for _ in 0..3 {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        // One backup a second at most gets its own name.
        tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
        backups.push(take(&t, &id).await);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.await.unwrap();
    assert!(written > 10, "the writer ran ({written} events)");
    let heads: Vec<i64> = backups.iter().map(|c| c.manifest.audit_head.seq).collect();
    assert!(heads.windows(2).all(|w| w[0] < w[1]), "{heads:?}");
    let last = backups.pop().unwrap();
    let target = t.scratch_database(&b, "moment").await;
    let restored = backup::restore(
        &last.path,
        &id,
        &key(&t),
        &target.url,
        &Actor::System("test"),
        |_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(
        restored.audit_events,
        u64::try_from(last.manifest.audit_head.seq).unwrap()
    );
    t.stop().await;
}

fn copy_with(path: &Path, name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let mut bytes = std::fs::read(path).unwrap();
    edit(&mut bytes);
    let out = path.with_file_name(name);
    std::fs::write(&out, bytes).unwrap();
    out
}

async fn a_damaged_or_edited_backup_is_refused(b: Backend) {
    let t = quiet_app(b.clone()).await;
    let id = Identity::generate();
    let created = take(&t, &id).await;
    let key = key(&t);
    backup::verify(&created.path, &key, Some(&id), |_, _| {}).unwrap();

    // One bit flipped inside the receivables' part.
    let part = created
        .manifest
        .parts
        .iter()
        .find(|p| p.name == "receivables")
        .unwrap()
        .clone();
    let flipped = copy_with(&created.path, "flipped.ctb", |b| {
        b[usize::try_from(part.offset + part.length / 2).unwrap()] ^= 0x01;
    });
    match backup::verify(&flipped, &key, None, |_, _| {}) {
        Err(BackupError::PartDamaged { part, .. }) => assert_eq!(part, "receivables"),
        other => panic!("a flipped bit: {other:?}"),
    }
    let target = t.scratch_database(&b, "flipped").await;
    let refused = backup::restore(
        &flipped,
        &id,
        &key,
        &target.url,
        &Actor::System("test"),
        |_, _| {},
    )
    .await;
    assert!(
        matches!(refused, Err(BackupError::PartDamaged { .. })),
        "{refused:?}"
    );

    // The manifest edited to claim one more bill (same length, so only
    // the signature can tell).
    let edited = copy_with(&created.path, "edited.ctb", |bytes| {
        let find = |from: usize, needle: &[u8]| {
            from + bytes[from..]
                .windows(needle.len())
                .position(|w| w == needle)
                .unwrap()
        };
        let manifest = usize::try_from(part.offset + part.length).unwrap();
        let at = find(manifest, b"\"name\": \"receivables\"");
        let rows = find(at, b"\"rows\": 4");
        bytes[rows + b"\"rows\": ".len()] = b'5';
    });
    let err = backup::verify(&edited, &key, None, |_, _| {}).unwrap_err();
    assert!(matches!(err, BackupError::BadSignature(_)), "{err:?}");
    assert!(err.to_string().contains("altered"), "{err}");

    // Cut short, and not a backup at all.
    let cut = copy_with(&created.path, "cut.ctb", |b| b.truncate(b.len() - 10));
    let err = backup::verify(&cut, &key, None, |_, _| {}).unwrap_err();
    assert!(matches!(err, BackupError::Malformed { .. }), "{err:?}");
    let junk = copy_with(&created.path, "junk.ctb", |b| b[0] = b'X');
    let err = backup::verify(&junk, &key, None, |_, _| {}).unwrap_err();
    assert!(matches!(err, BackupError::NotABackup(_)), "{err:?}");

    // Nothing was written to the database the damaged file was aimed at.
    if let DatabaseUrl::Sqlite(p) = &target.url {
        assert!(!p.exists(), "the restore touched {}", p.display());
    }
    t.stop().await;
}

async fn a_backup_signed_by_another_server_is_refused(b: Backend) {
    let t = quiet_app(b.clone()).await;
    let id = Identity::generate();
    let created = take(&t, &id).await;
    let other = app::keys::Keys::parse(&app::keys::Keys::generate_file_text(), "other")
        .unwrap()
        .audit_signing
        .unwrap()
        .verifying_key();
    let err = backup::verify(&created.path, &other, None, |_, _| {}).unwrap_err();
    assert!(matches!(err, BackupError::WrongSigner { .. }), "{err:?}");
    let target = t.scratch_database(&b, "foreign").await;
    let err = backup::restore(
        &created.path,
        &id,
        &other,
        &target.url,
        &Actor::System("test"),
        |_, _| {},
    )
    .await
    .unwrap_err();
    assert!(matches!(err, BackupError::WrongSigner { .. }), "{err:?}");
    t.stop().await;
}

async fn only_the_offline_identity_opens_a_backup(b: Backend) {
    let t = quiet_app(b.clone()).await;
    let id = Identity::generate();
    let created = take(&t, &id).await;
    let key = key(&t);
    let stranger = Identity::generate();
    let err = backup::verify(&created.path, &key, Some(&stranger), |_, _| {}).unwrap_err();
    assert!(matches!(err, BackupError::WrongIdentity { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&id.recipient().to_string()),
        "{err}"
    );
    let target = t.scratch_database(&b, "stranger").await;
    let err = backup::restore(
        &created.path,
        &stranger,
        &key,
        &target.url,
        &Actor::System("test"),
        |_, _| {},
    )
    .await
    .unwrap_err();
    assert!(matches!(err, BackupError::WrongIdentity { .. }), "{err:?}");
    // With the right identity the same file verifies completely.
    let v = backup::verify(&created.path, &key, Some(&id), |_, _| {}).unwrap();
    assert!(v.decrypted);
    t.stop().await;
}

async fn restore_refuses_a_database_that_is_not_empty(b: Backend) {
    let t = quiet_app(b).await;
    let id = Identity::generate();
    let created = take(&t, &id).await;
    let events = count(t.db(), "SELECT COUNT(*) FROM audit_events").await;
    let err = backup::restore(
        &created.path,
        &id,
        &key(&t),
        &t.app.config.database,
        &Actor::System("test"),
        |_, _| {},
    )
    .await
    .unwrap_err();
    match &err {
        BackupError::NotEmpty { why, .. } => assert!(why.contains("row(s)"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("empty database"), "{err}");
    assert_eq!(
        count(t.db(), "SELECT COUNT(*) FROM audit_events").await,
        events,
        "nothing was written"
    );
    t.stop().await;
}

async fn every_table_is_in_the_backup(b: Backend) {
    let t = quiet_app(b).await;
    let mut conn = t.db().reader().acquire().await.unwrap();
    let mut present = tables::catalog_tables(&mut conn, t.db().backend())
        .await
        .unwrap();
    drop(conn);
    present.retain(|n| n != tables::MIGRATION_TABLE);
    let mut known: Vec<String> = tables::TABLES.iter().map(|(n, _)| n.to_string()).collect();
    present.sort();
    known.sort();
    assert_eq!(
        present, known,
        "a migration added or removed a table: update backup::tables::TABLES"
    );
    t.stop().await;
}

async fn prune_keeps_what_the_policy_says_and_records_it(b: Backend) {
    let t = quiet_app(b).await;
    let dir = t.dir.join("to-prune");
    std::fs::create_dir_all(&dir).unwrap();
    let names = [
        "cityteller-backup-20260915T030000Z.ctb",
        "cityteller-backup-20261002T030000Z.ctb",
        "cityteller-backup-20261031T030000Z.ctb",
        "cityteller-backup-20261126T030000Z.ctb",
        "cityteller-backup-20261127T030000Z.ctb",
        "cityteller-backup-20261128T010000Z.ctb",
        "cityteller-backup-20261128T030000Z.ctb",
        "keep-me.txt",
    ];
    for n in names {
        std::fs::write(dir.join(n), b"x").unwrap();
    }
    let policy = domain::backup_retention::Policy {
        daily: 2,
        weekly: 0,
        monthly: 2,
    };
    let dry = backup::prune(&t.app, &dir, policy, &Actor::System("test"), true)
        .await
        .unwrap();
    assert_eq!(dry.removed.len(), 4, "{dry:?}");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), names.len());
    let before = count(t.db(), "SELECT COUNT(*) FROM audit_events").await;
    let done = backup::prune(&t.app, &dir, policy, &Actor::System("test"), false)
        .await
        .unwrap();
    let mut left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    // Days: 28th (newest), 27th; months: November (28th), October (31st).
    assert_eq!(
        left,
        vec![
            "cityteller-backup-20261031T030000Z.ctb",
            "cityteller-backup-20261127T030000Z.ctb",
            "cityteller-backup-20261128T030000Z.ctb",
            "keep-me.txt",
        ]
    );
    assert_eq!(done.kept.len(), 3);
    let (action, details): (String, String) =
        sqlx::query_as("SELECT action, details FROM audit_events ORDER BY seq DESC LIMIT 1")
            .fetch_one(t.db().reader())
            .await
            .unwrap();
    assert_eq!(action, "backup.prune");
    assert!(details.contains("20261126T030000Z"), "{details}");
    assert_eq!(
        count(t.db(), "SELECT COUNT(*) FROM audit_events").await,
        before + 1
    );
    t.stop().await;
}

async fn serve_takes_one_backup_per_interval(b: Backend) {
    let id = Identity::generate();
    let t = spawn_with(
        b,
        Options {
            jobs_in_process: false,
            manual_clock: true,
            extra_toml: format!(
                "[backup]\nrecipient = \"{}\"\ninterval_hours = 6\nkeep_daily = 1\nkeep_weekly = 0\nkeep_monthly = 0\n",
                id.recipient()
            ),
            ..Options::default()
        },
    )
    .await;
    let dir = t.app.config.backup.dir.clone();
    let files = |dir: &Path| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        v.sort();
        v
    };
    // Several nodes (or sweeps) asking in the same interval queue one job.
    assert!(backup::schedule::enqueue_due(&t.app).await.unwrap());
    assert!(!backup::schedule::enqueue_due(&t.app).await.unwrap());
    assert_eq!(app::jobs::drain(&t.app).await.unwrap(), 1);
    let first = files(&dir);
    assert_eq!(first.len(), 1, "{first:?}");
    backup::verify(&first[0], &key(&t), Some(&id), |_, _| {}).unwrap();

    // The next interval, and the next day: a new backup, and the pruning
    // (one day kept) removes the first.
    t.clock
        .as_ref()
        .unwrap()
        .advance(jiff::SignedDuration::from_hours(25));
    assert!(backup::schedule::enqueue_due(&t.app).await.unwrap());
    assert_eq!(app::jobs::drain(&t.app).await.unwrap(), 1);
    let second = files(&dir);
    assert_eq!(second.len(), 1, "{second:?}");
    assert_ne!(second, first);
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_events WHERE action LIKE 'backup.%' ORDER BY seq",
    )
    .fetch_all(t.db().reader())
    .await
    .unwrap();
    assert_eq!(
        actions,
        [
            "backup.create",
            "backup.prune",
            "backup.create",
            "backup.prune"
        ]
    );
    t.stop().await;
}

async fn a_table_of_many_chunks_round_trips(b: Backend) {
    let t = quiet_app(b.clone()).await;
    // About 6 MB of audit rows: several 1 MiB chunks in one part.
    let filler = "x".repeat(1200);
    let mut tx = t.db().begin().await.unwrap();
    for i in 0..5000 {
        app::audit::record(
            &mut tx,
            t.app.now(),
            app::audit::Event {
                actor: &Actor::System("test"),
                action: "test.bulk",
                target: Some(format!("thing:{i}")),
                outcome: app::audit::Outcome::Success,
                source_ip: None,
                details: serde_json::json!({ "n": i, "filler": filler }),
            },
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let id = Identity::generate();
    let created = take(&t, &id).await;
    let events = created
        .manifest
        .parts
        .iter()
        .find(|p| p.name == "audit_events")
        .unwrap();
    assert!(events.rows > 5000);
    let target = t.scratch_database(&b, "chunks").await;
    let restored = backup::restore(
        &created.path,
        &id,
        &key(&t),
        &target.url,
        &Actor::System("test"),
        |_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(restored.audit_events, events.rows);
    t.stop().await;
}
