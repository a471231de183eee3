//! Rotating the field-encryption key re-encrypts every sealed value; old
//! keys keep opening anything not yet done.

use app::services::key_rotation::{add_field_key, reencrypt, remaining};
use sqlx::Row;

use crate::db_tests;
use crate::harness::{Backend, Options, spawn_with};

db_tests!(rotation_reencrypts_every_sealed_value);

async fn rotation_reencrypts_every_sealed_value(b: Backend) {
    let t = spawn_with(
        b,
        Options {
            manual_clock: true,
            ..Options::default()
        },
    )
    .await;
    let mut r = t.resident();
    let (payment, _) = r
        .pay_bill(
            "1002-3345",
            "94110",
            "UT-1",
            "4242424242424242",
            "maria@example.com",
        )
        .await;
    t.settled(&payment).await;
    let _staff = t.staff(app::staff::roles::Role::Viewer).await;
    let (_, _) = t
        .invite("pending@city.example", app::staff::roles::Role::Clerk)
        .await;
    // 3 accounts × 2 fields, 1 e-mail, 1 authenticator (the pending
    // enrolment has no secret until its page is opened).
    assert_eq!(remaining(&t.app).await.unwrap(), 0);
    let id = add_field_key(&t.app.config.keys_file).unwrap();
    assert_eq!(id, "k2");
    // The key file keeps its permissions and the old key.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&t.app.config.keys_file)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(&t.app.config.keys_file).unwrap();
    assert!(text.contains("k1 = ") && text.contains("k2 = "));
    // A restarted process sees k2 as current and re-encrypts.
    let rotated = app::App::from_config(
        t.app.config.clone(),
        std::sync::Arc::new(app::clock::SystemClock),
    )
    .await
    .unwrap();
    assert_eq!(rotated.keys.fields.current_id(), "k2");
    assert_eq!(remaining(&rotated).await.unwrap(), 8);
    let mut seen = 0;
    let n = reencrypt(&rotated, &app::audit::Actor::System("test"), |x| seen = x)
        .await
        .unwrap();
    assert_eq!(n, 8);
    assert_eq!(seen, 8);
    assert_eq!(remaining(&rotated).await.unwrap(), 0);
    assert_eq!(
        reencrypt(&rotated, &app::audit::Actor::System("test"), |_| {})
            .await
            .unwrap(),
        0,
        "nothing left: safe to run again"
    );
    for (table, col) in [
        ("service_accounts", "holder_name_enc"),
        ("service_accounts", "service_address_enc"),
        ("payments", "receipt_email_enc"),
        ("staff_users", "totp_secret_enc"),
    ] {
        let rows = sqlx::query(&format!(
            "SELECT {col} AS v FROM {table} WHERE {col} IS NOT NULL"
        ))
        .fetch_all(t.db().reader())
        .await
        .unwrap();
        assert!(!rows.is_empty(), "{table}.{col}");
        for row in rows {
            let v: String = row.try_get("v").unwrap();
            assert!(v.starts_with("v1.k2."), "{table}.{col}: {v}");
        }
    }
    // Everything still reads.
    let account: i64 =
        sqlx::query("SELECT id FROM service_accounts WHERE account_number = '10023345'")
            .fetch_one(t.db().reader())
            .await
            .unwrap()
            .try_get("id")
            .unwrap();
    let summary = app::services::lookup::account_summary(&rotated, account)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(summary.masked_address, "•••• Maple Ave, Springfield");
    assert_eq!(
        t.count("SELECT COUNT(*) FROM audit_events WHERE action = 'keys.reencrypted'")
            .await,
        2
    );
    rotated.db.close().await;
    t.stop().await;
}
