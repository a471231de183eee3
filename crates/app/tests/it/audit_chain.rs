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
    old_events_go_only_up_to_a_signed_checkpoint,
    old_events_stay_while_the_log_does_not_verify,
);

async fn app_with_events(b: Backend) -> TestApp {
    app_with_events_at(b, false).await.0
}

/// 25 test events with a checkpoint after every tenth; with `manual_clock`
/// time stands still until the test moves it. Returns the checkpoints'
/// sequence numbers too.
async fn app_with_events_at(b: Backend, manual_clock: bool) -> (TestApp, Vec<i64>) {
    let t = spawn_with(
        b,
        Options {
            import_bills: false,
            // No background worker: checkpoints are written where the test says.
            extra_toml: "[audit]\ncheckpoint_events = 10\ncheckpoint_log = false\n\
                         [retention]\naudit_event_months = 12\n"
                .into(),
            jobs_in_process: false,
            manual_clock,
            ..Options::default()
        },
    )
    .await;
    let mut checkpoints = Vec::new();
    add_events(&t, 25, &mut checkpoints).await;
    (t, checkpoints)
}

async fn add_events(t: &TestApp, n: usize, checkpoints: &mut Vec<i64>) {
    for i in 0..n {
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
            let seq = audit::checkpoint::maybe_write(&t.app, false)
                .await
                .unwrap()
                .expect("a checkpoint is due");
            checkpoints.push(seq);
        }
    }
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

async fn old_events_go_only_up_to_a_signed_checkpoint(b: Backend) {
    use app::services::retention::run;
    let (t, checkpoints) = app_with_events_at(b, true).await;
    let actor = Actor::System("test");
    // Thirteen months on, a little more happens.
    let clock = t.clock.clone().unwrap();
    clock.advance(jiff::SignedDuration::from_hours(24 * 30 * 13));
    let mut later = Vec::new();
    add_events(&t, 5, &mut later).await;
    assert!(later.is_empty());
    let (head, _) = app::store::audit::chain_head(t.db().reader())
        .await
        .unwrap();

    // Everything before the move is due, but only up to the newest signed
    // checkpoint: the events after it stay until the next one.
    let last_cp = *checkpoints.last().unwrap();
    let planned = run(&t.app, &actor, true).await.unwrap();
    assert_eq!(
        planned.audit_events_removed,
        u64::try_from(last_cp).unwrap()
    );
    assert_eq!(planned.audit_events_kept, None);
    assert_eq!(
        t.count("SELECT COUNT(*) FROM audit_events").await,
        head,
        "a dry run removes nothing"
    );

    let done = run(&t.app, &actor, false).await.unwrap();
    assert_eq!(done.audit_events_removed, u64::try_from(last_cp).unwrap());
    assert_eq!(
        t.count(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE seq <= {last_cp}"
        ))
        .await,
        0
    );
    assert_eq!(
        t.count(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE seq > {last_cp}"
        ))
        .await,
        head - last_cp + 1,
        "the rest stays, with the batch's own event"
    );
    let details: String = sqlx::query_scalar(
        "SELECT details FROM audit_events WHERE action = 'retention.delete' ORDER BY seq DESC",
    )
    .fetch_one(t.db().reader())
    .await
    .unwrap();
    assert!(details.contains("\"what\":\"audit_events\""), "{details}");
    assert!(
        details.contains(&format!("\"through_seq\":{last_cp}")),
        "{details}"
    );

    // The chain still proves everything kept, from the signed checkpoint.
    let r = check(&t).await.unwrap();
    assert_eq!(r.pruned_through, Some(last_cp));
    assert_eq!(r.last_seq, head + 1);
    // Nothing more is due now; running again removes nothing.
    let again = run(&t.app, &actor, false).await.unwrap();
    assert_eq!(again.audit_events_removed, 0);

    // The database still refuses to delete kept events, or to bring the
    // record of removed ones back.
    let mut tx = t.db().begin().await.unwrap();
    let delete = sqlx::query(&format!(
        "DELETE FROM audit_events WHERE seq = {}",
        last_cp + 2
    ))
    .execute(&mut *tx)
    .await;
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    drop(tx);
    let mut tx = t.db().begin().await.unwrap();
    let back = sqlx::query("UPDATE audit_pruned SET seq = 1")
        .execute(&mut *tx)
        .await;
    assert!(back.unwrap_err().to_string().contains("only moves forward"));
    drop(tx);
    t.stop().await;
}

async fn old_events_stay_while_the_log_does_not_verify(b: Backend) {
    use app::services::retention::run;
    let (t, checkpoints) = app_with_events_at(b, true).await;
    let actor = Actor::System("test");
    t.clock
        .clone()
        .unwrap()
        .advance(jiff::SignedDuration::from_hours(24 * 30 * 13));
    // Someone edits an old event, the kind of thing retention must never
    // erase the evidence of.
    let mut c = raw(&t).await;
    c.execute("UPDATE audit_events SET outcome = 'failure' WHERE seq = 5")
        .await
        .unwrap();
    let done = run(&t.app, &actor, false).await.unwrap();
    assert_eq!(done.audit_events_removed, 0);
    let why = done.audit_events_kept.unwrap();
    assert!(why.contains("does not verify"), "{why}");
    assert!(why.contains("event 5 was edited"), "{why}");
    assert_eq!(
        t.count("SELECT COUNT(*) FROM audit_events WHERE seq <= 5")
            .await,
        5
    );

    // A forged record of a prune (moved past a point no checkpoint was
    // signed at, with the events before it deleted) is found.
    let next = checkpoints[1] + 2;
    let hash: String =
        sqlx::query_scalar(&format!("SELECT hash FROM audit_events WHERE seq = {next}"))
            .fetch_one(t.db().reader())
            .await
            .unwrap();
    c.execute(
        format!("INSERT INTO audit_pruned (id, seq, hash, at) VALUES (1, {next}, '{hash}', 0)")
            .as_str(),
    )
    .await
    .unwrap();
    c.execute(format!("DELETE FROM audit_events WHERE seq <= {next}").as_str())
        .await
        .unwrap();
    let (seq, what) = tampering(check(&t).await);
    assert_eq!(seq, next);
    assert!(what.contains("no signed checkpoint"), "{what}");
    t.stop_unchecked().await;
}
