//! Refunds with a second approver, payment search and export, and the
//! daily close with reconciliation.

use app::staff::roles::Role;
use domain::payment::PaymentStatus;
use jiff::SignedDuration;

use crate::db_tests;
use crate::harness::{Backend, Options, TestApp, spawn_with};
use crate::resident::read;

db_tests!(
    small_refund_goes_through_and_restores_the_balance,
    large_refund_needs_someone_else_to_approve,
    refunds_cannot_exceed_what_was_paid_even_concurrently,
    search_filters_paginates_and_exports,
    daily_close_reconciles_and_locks_the_date,
);

fn manual() -> Options {
    Options {
        manual_clock: true,
        ..Options::default()
    }
}

async fn paid(t: &TestApp, account: &str, zip: &str, reference: &str) -> String {
    let mut r = t.resident();
    let (id, _) = r
        .pay_bill(
            account,
            zip,
            reference,
            "4242424242424242",
            "payer@example.com",
        )
        .await;
    assert_eq!(t.settled(&id).await.status, PaymentStatus::Succeeded);
    id
}

async fn small_refund_goes_through_and_restores_the_balance(b: Backend) {
    let t = spawn_with(b, manual()).await;
    let id = paid(&t, "1002-3345", "94110", "UT-1").await;
    let mut sup = t.staff(Role::Supervisor).await;
    let form = sup.get(&format!("/payments/{id}/refund")).await;
    assert_eq!(form.status, 200);
    assert!(form.main().contains("$86.22"), "refundable shown");
    let done = sup
        .post(
            &format!("/payments/{id}/refund"),
            &[("amount", "20.00"), ("reason", "Meter misread")],
        )
        .await;
    assert_eq!(
        done.location.as_deref(),
        Some(format!("/payments/{id}?done=refund").as_str()),
        "{}",
        done.body
    );
    let p = t.payment(&id).await;
    assert_eq!(p.status, PaymentStatus::PartiallyRefunded);
    assert_eq!(t.balance("UT-1").await, 2000, "the bill is owed again");
    let lines = app::store::ledger::lines_for_payment(t.db().reader(), &id)
        .await
        .unwrap();
    let refund: Vec<(String, i64)> = lines
        .iter()
        .filter(|l| l.0.starts_with("refund:"))
        .map(|l| (l.1.clone(), l.3))
        .collect();
    assert_eq!(
        refund,
        vec![
            ("1210-UTIL-AR".to_string(), 2000),
            ("1010-CLEARING".to_string(), -2000)
        ]
    );
    t.assert_books_balance().await;
    // The rest, fee included: the payment is fully refunded.
    let rest = sup
        .post(
            &format!("/payments/{id}/refund"),
            &[("amount", "66.22"), ("reason", "Account closed")],
        )
        .await;
    assert_eq!(rest.status, 303, "{}", rest.body);
    assert_eq!(t.payment(&id).await.status, PaymentStatus::Refunded);
    assert_eq!(t.balance("UT-1").await, 8412);
    t.assert_books_balance().await;
    // Asked again later, the sandbox says its refunds stand.
    use app::processor::{ProcessorError, RefundStatus};
    use sqlx::Row;
    let made: String = sqlx::query("SELECT processor_ref FROM refunds LIMIT 1")
        .fetch_one(t.db().reader())
        .await
        .unwrap()
        .try_get("processor_ref")
        .unwrap();
    assert_eq!(
        t.app.processor.refund_status(&made).await.unwrap(),
        RefundStatus::Succeeded
    );
    assert!(matches!(
        t.app.processor.refund_status("re_never_made").await,
        Err(ProcessorError::NotFound)
    ));
    let detail = sup.get(&format!("/payments/{id}")).await;
    assert!(detail.main().contains("Meter misread") && detail.main().contains("refund.succeeded"));
    // Nothing is left to refund; a failed payment cannot be refunded.
    let none = sup
        .post(
            &format!("/payments/{id}/refund"),
            &[("amount", "1.00"), ("reason", "x")],
        )
        .await;
    assert_eq!(none.status, 400);
    assert!(
        none.main().contains("cannot be refunded"),
        "{}",
        none.main()
    );
    let mut r = t.resident();
    let (declined, _) = r
        .pay_bill("3090-1200", "94117", "UT-4", "4000000000000002", "")
        .await;
    t.settled(&declined).await;
    let refused = sup
        .post(
            &format!("/payments/{declined}/refund"),
            &[("amount", "1.00"), ("reason", "x")],
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(
        refused
            .main()
            .contains("A payment that is failed cannot be refunded")
    );
    let no_reason = sup.get(&format!("/payments/{declined}/refund")).await;
    assert_eq!(no_reason.status, 400);
    t.stop().await;
}

async fn large_refund_needs_someone_else_to_approve(b: Backend) {
    let t = spawn_with(b, manual()).await;
    let id = paid(&t, "3090-1200", "94117", "UT-4").await;
    let mut a = t.staff(Role::Supervisor).await;
    let mut other = t.staff(Role::Finance).await;
    let req = a
        .post(
            &format!("/payments/{id}/refund"),
            &[("amount", "150.00"), ("reason", "Duplicate payment")],
        )
        .await;
    assert_eq!(req.status, 303);
    assert_eq!(
        t.payment(&id).await.status,
        PaymentStatus::Succeeded,
        "nothing refunded yet"
    );
    let list = a.get("/refunds").await;
    assert!(list.main().contains("Your own request"));
    let refund_id: String = {
        use sqlx::Row;
        sqlx::query("SELECT id FROM refunds")
            .fetch_one(t.db().reader())
            .await
            .unwrap()
            .try_get("id")
            .unwrap()
    };
    let own = a.post(&format!("/refunds/{refund_id}/approve"), &[]).await;
    assert_eq!(own.status, 403);
    assert!(
        own.main()
            .contains("You cannot approve or reject your own refund request")
    );
    assert_eq!(
        t.count("SELECT COUNT(*) FROM audit_events WHERE action = 'refund.self_approval_refused'")
            .await,
        1
    );
    // An administrator is no exception.
    let mut admin = t.staff(Role::Administrator).await;
    let admin_own = admin
        .post(
            &format!("/payments/{id}/refund"),
            &[("amount", "120.00"), ("reason", "Test")],
        )
        .await;
    assert_eq!(admin_own.status, 303);
    let admin_refund: String = {
        use sqlx::Row;
        sqlx::query("SELECT id FROM refunds WHERE requested_by = $1")
            .bind(admin.id)
            .fetch_one(t.db().reader())
            .await
            .unwrap()
            .try_get("id")
            .unwrap()
    };
    assert_eq!(
        admin
            .post(&format!("/refunds/{admin_refund}/approve"), &[])
            .await
            .status,
        403
    );
    let rejected = other
        .post(
            &format!("/refunds/{admin_refund}/reject"),
            &[("note", "Not needed")],
        )
        .await;
    assert_eq!(rejected.location.as_deref(), Some("/refunds?done=rejected"));
    let approved = other
        .post(&format!("/refunds/{refund_id}/approve"), &[])
        .await;
    assert_eq!(
        approved.location.as_deref(),
        Some("/refunds?done=approved"),
        "{}",
        approved.body
    );
    assert_eq!(
        t.payment(&id).await.status,
        PaymentStatus::PartiallyRefunded
    );
    assert_eq!(t.balance("UT-4").await, 15000);
    let twice = other
        .post(&format!("/refunds/{refund_id}/approve"), &[])
        .await;
    assert_eq!(twice.status, 409);
    assert_eq!(
        t.count("SELECT COUNT(*) FROM journal_entries WHERE kind = 'refund'")
            .await,
        1
    );
    t.assert_books_balance().await;
    t.stop().await;
}

async fn refunds_cannot_exceed_what_was_paid_even_concurrently(b: Backend) {
    let t = spawn_with(b, manual()).await;
    let id = paid(&t, "1002-3345", "94110", "UT-1").await;
    let mut a = t.staff(Role::Supervisor).await;
    let mut c = t.staff(Role::Supervisor).await;
    let too_much = a
        .post(
            &format!("/payments/{id}/refund"),
            &[("amount", "86.23"), ("reason", "x")],
        )
        .await;
    assert_eq!(too_much.status, 400);
    assert!(
        too_much
            .main()
            .contains("At most $86.22 can still be refunded"),
        "{}",
        too_much.main()
    );
    let ca = a.get("/").await.csrf();
    let cc = c.get("/").await.csrf();
    let url = t.staff_url(&format!("/payments/{id}/refund"));
    let fa = [
        ("csrf", ca.as_str()),
        ("amount", "50.00"),
        ("reason", "first"),
    ];
    let fc = [
        ("csrf", cc.as_str()),
        ("amount", "50.00"),
        ("reason", "second"),
    ];
    let (ra, rc) = tokio::join!(
        a.client.post(&url).form(&fa).send(),
        c.client.post(&url).form(&fc).send()
    );
    let mut statuses = vec![
        read(ra.unwrap()).await.status,
        read(rc.unwrap()).await.status,
    ];
    statuses.sort_unstable();
    assert_eq!(statuses, vec![303, 400], "one refund, one refusal");
    assert_eq!(t.count("SELECT COUNT(*) FROM refunds").await, 1);
    assert_eq!(
        t.count("SELECT COUNT(*) FROM journal_entries WHERE kind = 'refund'")
            .await,
        1
    );
    t.assert_books_balance().await;
    t.stop().await;
}

async fn search_filters_paginates_and_exports(b: Backend) {
    let t = spawn_with(b, manual()).await;
    let first = paid(&t, "1002-3345", "94110", "UT-1").await;
    let second = paid(&t, "2048-7781", "94112", "UT-2").await;
    let receipt = t.payment(&first).await.receipt_number.unwrap();
    let mut v = t.staff(Role::Viewer).await;
    let all = v.get("/payments?status=succeeded").await;
    assert!(
        all.main().contains(&format!("/payments/{first}"))
            && all.main().contains(&format!("/payments/{second}"))
    );
    for (query, finds_first) in [
        (format!("receipt_number={receipt}"), true),
        ("reference=UT-2".to_string(), false),
        ("account_number=1002-3345".to_string(), true),
        ("last4=4242&amount=86.22".to_string(), true),
        ("amount=62.94".to_string(), false),
        ("department=utilities&status=succeeded".to_string(), true),
    ] {
        let page = v.get(&format!("/payments?{query}")).await;
        assert_eq!(page.status, 200, "{query}");
        assert_eq!(
            page.main().contains(&format!("/payments/{first}")),
            finds_first,
            "{query}"
        );
    }
    let bad = v.get("/payments?amount=abc&last4=12&from=2026-02-30").await;
    assert_eq!(bad.status, 400);
    assert!(bad.main().contains("Enter the last 4 digits of the card"));
    assert!(bad.main().contains("Enter an amount in dollars and cents"));
    // Pagination over many payments.
    for i in 0..55 {
        use sqlx::Executor;
        let mut tx = t.db().begin().await.unwrap();
        let pid = format!("00000000-0000-4000-8000-{i:012}");
        app::store::payments::insert(
            &mut tx,
            &app::store::payments::NewPayment {
                id: &pid,
                idempotency_key: &pid,
                amount: domain::Cents::new(1000 + i),
                fee: domain::Cents::new(100),
                total: domain::Cents::new(1100 + i),
                processor: "sandbox",
                receipt_email_enc: None,
                locale: app::i18n::Locale::En,
                created_at: t.app.now_us() - 1_000_000 * (i + 1),
                expires_at: t.app.now_us(),
                items: &[app::store::payments::NewItem {
                    receivable_id: t.bill_id("UT-3").await,
                    department: "utilities",
                    amount: domain::Cents::new(1000 + i),
                    fee: domain::Cents::new(100),
                }],
            },
        )
        .await
        .unwrap();
        tx.execute("SELECT 1").await.unwrap();
        tx.commit().await.unwrap();
    }
    let p1 = v.get("/payments?reference=UT-3").await;
    assert_eq!(
        p1.main().matches("<tr><td><a href=\"/payments/").count(),
        50
    );
    assert!(p1.main().contains("Next page"));
    let p2 = v.get("/payments?reference=UT-3&page=2").await;
    assert_eq!(p2.main().matches("<tr><td><a href=\"/payments/").count(), 5);
    assert!(!p2.main().contains("Next page") && p2.main().contains("Previous page"));
    // Viewers cannot export; finance can, streamed as CSV.
    assert_eq!(v.get("/payments.csv?reference=UT-3").await.status, 403);
    let mut f = t.staff(Role::Finance).await;
    let csv = f.get("/payments.csv?reference=UT-3").await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        csv.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("payments.csv")
    );
    let mut rdr = csv::Reader::from_reader(csv.body.as_bytes());
    assert_eq!(rdr.headers().unwrap().iter().next(), Some("payment_id"));
    assert_eq!(rdr.records().count(), 55);
    t.stop().await;
}

async fn daily_close_reconciles_and_locks_the_date(b: Backend) {
    let t = spawn_with(b, manual()).await;
    let one = paid(&t, "1002-3345", "94110", "UT-1").await;
    let two = paid(&t, "2048-7781", "94112", "UT-2").await;
    let three = paid(&t, "2048-7781", "94112", "UT-3").await;
    let mut fin = t.staff(Role::Finance).await;
    let small = fin
        .post(
            &format!("/payments/{one}/refund"),
            &[("amount", "10.00"), ("reason", "Goodwill")],
        )
        .await;
    assert_eq!(small.status, 303);
    let day = app::services::close::today(&t.app).to_string();
    // Today is not over: it cannot be closed.
    let early = fin.post(&format!("/close/{day}"), &[("note", "")]).await;
    assert_eq!(early.status, 400);
    assert!(early.main().contains("has not ended yet"));
    let report = fin.get(&format!("/close/{day}")).await;
    assert!(
        report.main().contains("Every charge and refund matches"),
        "{}",
        report.main()
    );
    assert!(
        report.main().contains("$209.58"),
        "gross: 86.22 + 62.94 + 60.42 {}",
        report.main()
    );
    // The processor's records disagree: one charge missing, one amount
    // changed, and a charge we never booked.
    let api_key = app::keys::Keys::parse(&t.keys_text, "test").unwrap();
    let key = secrecy::ExposeSecret::expose_secret(&api_key.processor_api_key).to_owned();
    let sb = reqwest::Client::new();
    let r2 = t.payment(&two).await.processor_ref.unwrap();
    let r3 = t.payment(&three).await.processor_ref.unwrap();
    for (id, body) in [
        (&r2, serde_json::json!({"action": "hide"})),
        (&r3, serde_json::json!({"action": "amount", "amount": 1})),
    ] {
        let resp = sb
            .post(format!("{}/v1/test/transactions/{id}", t.sandbox))
            .bearer_auth(&key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 204);
    }
    let stray = sb
        .post(format!("{}/v1/checkouts", t.sandbox))
        .bearer_auth(&key)
        .json(&serde_json::json!({
            "amount": 4200, "currency": "usd", "description": "not via cityteller",
            "return_url": format!("{}/", t.public), "cancel_url": format!("{}/", t.public),
            "expires_at": jiff::Timestamp::now().as_second() + 600, "reference": "stray"
        }))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let mut r = t.resident();
    r.pay_on_processor(stray["url"].as_str().unwrap(), "4242424242424242")
        .await;
    // The next morning (city time), finance closes the day.
    t.clock
        .as_ref()
        .unwrap()
        .advance(SignedDuration::from_hours(24));
    // A new day, a new session.
    assert_eq!(fin.sign_in().await.status, 303);
    let report = fin.get(&format!("/close/{day}")).await;
    let main = report.main();
    assert!(main.contains("3 mismatch(es)"), "{main}");
    assert!(
        main.contains("in our books, missing at the processor") && main.contains(&r2),
        "{main}"
    );
    assert!(
        main.contains("the amounts differ") && main.contains(&r3),
        "{main}"
    );
    assert!(
        main.contains("at the processor, missing in our books")
            && main.contains(stray["id"].as_str().unwrap())
    );
    let no_note = fin.post(&format!("/close/{day}"), &[("note", "  ")]).await;
    assert_eq!(no_note.status, 400);
    assert!(no_note.main().contains("explain them in the note"));
    let closed = fin
        .post(
            &format!("/close/{day}"),
            &[("note", "Raised with the processor, ticket 42")],
        )
        .await;
    assert_eq!(
        closed.location.as_deref(),
        Some(format!("/close/{day}").as_str()),
        "{}",
        closed.body
    );
    let after = fin.get(&format!("/close/{day}")).await;
    assert!(after.main().contains("Closed") && after.main().contains("ticket 42"));
    let again = fin
        .post(&format!("/close/{day}"), &[("note", "again")])
        .await;
    assert_eq!(again.status, 409, "a closed day stays closed");
    assert!(again.main().contains("is already closed"));
    // Exports for the billing system and the general ledger.
    let postings = fin.get(&format!("/close/{day}/postings.csv")).await;
    assert_eq!(postings.status, 200);
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(postings.body.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 4, "three payments and one refund");
    let refund_row = rows.iter().find(|r| &r[1] == "refund").unwrap();
    assert_eq!(
        (&refund_row[6], &refund_row[7], &refund_row[8]),
        ("10023345", "UT-1", "-10.00")
    );
    let journal = fin.get(&format!("/close/{day}/journal.csv")).await;
    let mut debit = 0.0f64;
    let mut credit = 0.0f64;
    for r in csv::Reader::from_reader(journal.body.as_bytes()).records() {
        let r = r.unwrap();
        debit += r[5].parse::<f64>().unwrap();
        credit += r[6].parse::<f64>().unwrap();
    }
    assert!(
        (debit - credit).abs() < 0.001 && debit > 0.0,
        "journal balances: {debit} vs {credit}"
    );
    // A payment the processor captured on the closed day, confirmed only
    // now (its webhook is refused: our clock is a day ahead of the
    // processor's, as after an outage), is booked in an open period.
    let mut late = t.resident();
    late.prepare("3090-1200", "94117", "UT-4").await;
    let checkout = late.confirm("").await.location.unwrap();
    let back = late.pay_on_processor(&checkout, "4242424242424242").await;
    let return_url = back.location.unwrap();
    let late_id = return_url.rsplit('/').next().unwrap().to_owned();
    assert!(
        late.get(&return_url)
            .await
            .main()
            .contains("Payment received")
    );
    let p = t.settled(&late_id).await;
    assert_ne!(
        p.business_date.as_deref(),
        Some(day.as_str()),
        "never posted to a closed day"
    );
    assert_eq!(
        t.count("SELECT COUNT(*) FROM audit_events WHERE action = 'close.day_closed'")
            .await,
        1
    );
    t.stop().await;
}
