//! The audit log cannot be changed unseen: the database refuses edits and
//! deletions, and when someone with the database file goes around that,
//! `audit verify` names the first bad event and what was done to it.

use app::audit::verify::{VerifyError, verify};
use app::audit::{self, Actor, Event, Outcome};
use domain::audit_chain::{ChainEvent, Tampering, link};
use sqlx::{Connection, Executor, Row};

use crate::db_tests;
use crate::harness::{Backend, Options, TestApp, spawn_with};

db_tests!(
    the_database_refuses_edits_and_deletions,
    a_clean_log_verifies_with_signed_checkpoints,
    an_edited_field_is_found,
    a_deleted_row_is_found,
    swapped_rows_are_found,
    a_dropped_tail_is_found,
    a_rehashed_chain_is_found,
    a_forged_checkpoint_is_found,
);

async fn app_with_events(b: Backend) -> TestApp {
    let t = spawn_with(
        b,
        Options {
            import_bills: false,
            // No background worker: checkpoints are written where the test says.
            extra_toml: "[audit]\ncheckpoint_events = 10\ncheckpoint_log = false\n".into(),
            jobs_in_process: false,
            ..Options::default()
        },
    )
    .await;
    for i in 0..25 {
        let mut tx = t.db().begin().await.unwrap();
        audit::record(
            &mut tx,
            t.app.now(),
            Event {
                actor: &Actor::System("test"),
                action: "test.event",
                target: Some(format!("thing:{i}")),
                outcome: Outcome::Success,
                source_ip: None,
                details: serde_json::json!({ "n": i }),
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        if i % 10 == 9 {
            assert!(
                audit::checkpoint::maybe_write(&t.app, false)
                    .await
                    .unwrap()
                    .is_some()
            );
        }
    }
    t
}

async fn check(t: &TestApp) -> Result<app::audit::verify::Report, VerifyError> {
    let key = t.app.keys.audit_signing.as_ref().unwrap().verifying_key();
    verify(
        t.db(),
        &t.app.config.audit.checkpoint_dir,
        Some(&key),
        |_| {},
    )
    .await
}

/// A connection that goes around the application, as someone holding the
/// database would: triggers dropped or disabled.
async fn raw(t: &TestApp) -> sqlx::AnyConnection {
    let url = match &t.app.config.database {
        app::config::DatabaseUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
        app::config::DatabaseUrl::Postgres(u) => u.clone(),
    };
    let mut c = sqlx::AnyConnection::connect(&url).await.unwrap();
    if c.backend_name() == "PostgreSQL" {
        c.execute("ALTER TABLE audit_events DISABLE TRIGGER USER")
            .await
            .unwrap();
    } else {
        c.execute("DROP TRIGGER audit_events_no_update")
            .await
            .unwrap();
        c.execute("DROP TRIGGER audit_events_no_delete")
            .await
            .unwrap();
    }
    c
}

fn tampering(r: Result<app::audit::verify::Report, VerifyError>) -> (i64, String) {
    match r {
        Err(e) => (e.first_bad_seq().unwrap_or(-1), e.to_string()),
        Ok(r) => panic!("tampering not found: {r:?}"),
    }
}

async fn the_database_refuses_edits_and_deletions(b: Backend) {
    let t = app_with_events(b.clone()).await;
    let mut tx = t.db().begin().await.unwrap();
    let edit = sqlx::query("UPDATE audit_events SET outcome = 'failure' WHERE seq = 3")
        .execute(&mut *tx)
        .await;
    assert!(edit.unwrap_err().to_string().contains("append-only"));
    drop(tx);
    let mut tx = t.db().begin().await.unwrap();
    let delete = sqlx::query("DELETE FROM audit_events WHERE seq = 3")
        .execute(&mut *tx)
        .await;
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    drop(tx);
    if let Backend::Postgres { .. } = b {
        let mut tx = t.db().begin().await.unwrap();
        let truncate = sqlx::query("TRUNCATE audit_events").execute(&mut *tx).await;
        assert!(truncate.unwrap_err().to_string().contains("append-only"));
    }
    assert!(check(&t).await.is_ok());
    t.stop().await;
}

async fn a_clean_log_verifies_with_signed_checkpoints(b: Backend) {
    let t = app_with_events(b).await;
    let r = check(&t).await.unwrap();
    assert_eq!(r.events, 25);
    assert_eq!(r.last_seq, 25);
    assert_eq!(r.checkpoints, 2, "at 10 and 20 events");
    let files: Vec<_> = std::fs::read_dir(&t.app.config.audit.checkpoint_dir)
        .unwrap()
        .collect();
    assert_eq!(files.len(), 2);
    // Forced, and then nothing new to sign.
    assert_eq!(
        audit::checkpoint::maybe_write(&t.app, true).await.unwrap(),
        Some(25)
    );
    assert_eq!(
        audit::checkpoint::maybe_write(&t.app, true).await.unwrap(),
        None
    );
    assert_eq!(check(&t).await.unwrap().checkpoints, 3);
    t.stop().await;
}

async fn an_edited_field_is_found(b: Backend) {
    let t = app_with_events(b).await;
    let mut c = raw(&t).await;
    c.execute("UPDATE audit_events SET details = '{\"n\":999}' WHERE seq = 7")
        .await
        .unwrap();
    let (seq, what) = tampering(check(&t).await);
    assert_eq!(seq, 7);
    assert!(what.contains("event 7 was edited"), "{what}");
    t.stop_unchecked().await;
}

async fn a_deleted_row_is_found(b: Backend) {
    let t = app_with_events(b).await;
    let mut c = raw(&t).await;
    c.execute("DELETE FROM audit_events WHERE seq = 12")
        .await
        .unwrap();
    let (seq, what) = tampering(check(&t).await);
    assert_eq!(seq, 12);
    assert!(what.contains("event 12 was deleted"), "{what}");
    t.stop_unchecked().await;
}

async fn swapped_rows_are_found(b: Backend) {
    let t = app_with_events(b).await;
    let mut c = raw(&t).await;
    c.execute("UPDATE audit_events SET seq = -1 WHERE seq = 15")
        .await
        .unwrap();
    c.execute("UPDATE audit_events SET seq = 15 WHERE seq = 16")
        .await
        .unwrap();
    c.execute("UPDATE audit_events SET seq = 16 WHERE seq = -1")
        .await
        .unwrap();
    let (seq, what) = tampering(check(&t).await);
    assert_eq!(seq, 15);
    assert!(what.contains("event 15 was reordered"), "{what}");
    t.stop_unchecked().await;
}

async fn a_dropped_tail_is_found(b: Backend) {
    let t = app_with_events(b).await;
    let mut c = raw(&t).await;
    // Drop everything after 18, and make the head agree, as a careful
    // attacker would: only the signed checkpoint at 20 gives it away.
    c.execute("DELETE FROM audit_events WHERE seq > 18")
        .await
        .unwrap();
    let h: String = sqlx::query("SELECT hash FROM audit_events WHERE seq = 18")
        .fetch_one(&mut c)
        .await
        .unwrap()
        .try_get("hash")
        .unwrap();
    sqlx::query("UPDATE audit_head SET seq = 18, hash = $1")
        .bind(h)
        .execute(&mut c)
        .await
        .unwrap();
    let (seq, what) = tampering(check(&t).await);
    assert_eq!(seq, 19);
    assert!(
        what.contains("events after 18 were removed (a checkpoint was signed at event 20)"),
        "{what}"
    );
    // Without touching the head, the head alone tells.
    t.stop_unchecked().await;
}

async fn a_rehashed_chain_is_found(b: Backend) {
    let t = app_with_events(b).await;
    let mut c = raw(&t).await;
    // Edit event 13 and recompute every hash after it: the chain is
    // consistent again, but nobody without the key can re-sign checkpoints.
    let rows = sqlx::query("SELECT seq, at, actor, action, target, outcome, source_ip, details, prev_hash FROM audit_events ORDER BY seq")
        .fetch_all(&mut c)
        .await
        .unwrap();
    let mut prev = [0u8; 32];
    for r in rows {
        let seq: i64 = r.try_get("seq").unwrap();
        let mut e = ChainEvent {
            at: r.try_get("at").unwrap(),
            actor: r.try_get("actor").unwrap(),
            action: r.try_get("action").unwrap(),
            target: r.try_get("target").unwrap(),
            outcome: r.try_get("outcome").unwrap(),
            source_ip: r.try_get("source_ip").unwrap(),
            details: r.try_get("details").unwrap(),
        };
        if seq == 13 {
            e.details = "{\"n\":\"covered up\"}".into();
        }
        let h = link(&prev, &e);
        sqlx::query(
            "UPDATE audit_events SET details = $2, prev_hash = $3, hash = $4 WHERE seq = $1",
        )
        .bind(seq)
        .bind(&e.details)
        .bind(hex::encode(prev))
        .bind(hex::encode(h))
        .execute(&mut c)
        .await
        .unwrap();
        prev = h;
    }
    sqlx::query("UPDATE audit_head SET hash = $1")
        .bind(hex::encode(prev))
        .execute(&mut c)
        .await
        .unwrap();
    let err = check(&t).await.unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Tampered(Tampering::Rewritten {
                since_seq: 10,
                checkpoint_seq: 20
            })
        ),
        "{err}"
    );
    assert_eq!(err.first_bad_seq(), Some(11));
    assert!(err.to_string().contains("rewritten"));
    t.stop_unchecked().await;
}

async fn a_forged_checkpoint_is_found(b: Backend) {
    let t = app_with_events(b).await;
    let dir = &t.app.config.audit.checkpoint_dir;
    let path = dir.join("checkpoint-000000000020.json");
    let mut cp: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    cp["hash"] = "ab".repeat(32).into();
    std::fs::write(&path, cp.to_string()).unwrap();
    let err = check(&t).await.unwrap_err().to_string();
    assert!(
        err.contains("bad signature on the checkpoint at event 20"),
        "{err}"
    );
    t.stop_unchecked().await;
}
