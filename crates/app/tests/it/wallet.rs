//! The wallet, autopay and scheduled payments over HTTP with the sandbox
//! processor, e-mail through aiosmtpd and the clock moved by hand: a card
//! saved on the processor's page, autopay through a month (reminder,
//! charge, receipt, history), a crash between the processor's charge and
//! our record of it (charged once), declines retried then given up, a bill
//! over the resident's maximum, scheduled payments and their
//! cancellation, and a removed card; and city staff helping a resident
//! who lost their authenticator.

use app::processor::ChargeRequest;
use app::services::payments::{StartItem, StartRequest};
use app::services::wallet;

use crate::accounts::{
    code_for, key_on, long, plus, sign_in, sign_up_and_in, start, subject, ut1_due_in,
};
use crate::db_tests;
use crate::harness::{Backend, TestApp};
use crate::mail::Smtp;
use crate::resident::{Page, Resident};

db_tests!(
    autopay_through_a_month,
    a_crash_after_the_charge_charges_once,
    declines_are_retried_then_given_up,
    over_the_maximum_and_removed_cards_are_not_charged,
    scheduled_payments_run_on_their_day_and_can_be_cancelled,
    breach_scope_covers_resident_accounts,
    unlinking_cancels_what_was_planned,
    staff_help_a_resident_who_lost_their_authenticator,
);

/// Makes UT-1 ($84.12) due 20 days from today, signs up, links account
/// 1002-3345, saves `card` on the sandbox's page; returns the link id,
/// the card id and UT-1's due date.
async fn resident_with_card(
    t: &TestApp,
    r: &mut Resident<'_>,
    smtp: &Smtp,
    card: &str,
) -> (String, i64, jiff::civil::Date) {
    let due = ut1_due_in(t, 20).await;
    sign_up_and_in(r, smtp, "maria@example.com", 0).await;
    r.get("/account/link/utilities").await;
    let linked = r
        .post(
            "/account/link/utilities",
            &[
                ("account_number", "1002-3345"),
                ("zip", "94110"),
                ("last_bill", "84.12"),
            ],
        )
        .await;
    assert_eq!(linked.status, 303, "{}", linked.body);
    let home = r.get("/account").await;
    assert!(home.main().contains("Saved cards"));
    let link_id = home
        .main()
        .split("/account/links/")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap()
        .to_owned();
    let card_id = save_card(t, r, card).await;
    (link_id, card_id, due)
}

/// Saves a card through the sandbox's hosted page; returns its id.
async fn save_card(t: &TestApp, r: &mut Resident<'_>, number: &str) -> i64 {
    let before = t.count("SELECT COUNT(*) FROM wallet_methods").await;
    let to = r.post("/account/cards/add", &[]).await;
    assert_eq!(to.status, 303, "{}", to.body);
    let setup = to.location.unwrap();
    assert!(
        setup.starts_with(&t.sandbox),
        "the processor's origin: {setup}"
    );
    let page = r.get(&setup).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Save a card"));
    let token = page.input("token").unwrap();
    let form = [
        ("token", token.as_str()),
        ("name", "Maria Lopez"),
        ("number", number),
        ("expiry", "12/39"),
        ("cvc", "123"),
    ];
    let back = crate::resident::read(r.client.post(&setup).form(&form).send().await.unwrap()).await;
    assert_eq!(back.status, 303);
    let ret = back.location.unwrap();
    assert!(ret.contains("/account/wallet/return?s="), "{ret}");
    let done = r.get(&ret).await;
    assert_eq!(done.location.as_deref(), Some("/account?notice=card-saved"));
    // A second visit to the return link saves nothing more.
    let again = r.get(&ret).await;
    assert_eq!(
        again.location.as_deref(),
        Some("/account?notice=card-not-saved")
    );
    assert_eq!(
        t.count("SELECT COUNT(*) FROM wallet_methods").await,
        before + 1
    );
    let home = r.get("/account?notice=card-saved").await;
    assert!(home.main().contains("Your card is saved."));
    t.count("SELECT MAX(id) FROM wallet_methods").await
}

async fn autopay_on(r: &mut Resident<'_>, link: &str, card: i64, days: &str, max: &str) -> Page {
    r.get("/account").await;
    r.post(
        &format!("/account/links/{link}/autopay"),
        &[("card", &card.to_string()), ("days", days), ("max", max)],
    )
    .await
}

/// Moves the clock to 09:00 on `date` (city time) and runs what is due.
async fn run_on(t: &TestApp, date: jiff::civil::Date) {
    let target = date
        .at(9, 0, 0, 0)
        .to_zoned_datetime(t.app.config.timezone.clone())
        .unwrap()
        .timestamp();
    let clock = t.clock.as_ref().unwrap();
    let now = t.app.now();
    if target > now {
        clock.advance(now.duration_until(target));
    }
    sweep_and_drain(t).await;
}

async fn sweep_and_drain(t: &TestApp) {
    for _ in 0..2 {
        app::services::wallet::plan_autopay(&t.app).await.unwrap();
        app::services::residents::queue_notices(&t.app)
            .await
            .unwrap();
        app::jobs::drain(&t.app).await.unwrap();
    }
    // The app's own worker may hold a job it claimed first: wait for it.
    for _ in 0..200 {
        let running = t
            .count("SELECT COUNT(*) FROM jobs WHERE status = 'running'")
            .await;
        if running == 0 {
            app::jobs::drain(&t.app).await.unwrap();
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("a job kept running");
}

/// `days` before (negative) or after UT-1's due date.
fn day(due: jiff::civil::Date, days: i64) -> jiff::civil::Date {
    plus(due, days)
}

async fn autopay_through_a_month(b: Backend) {
    let Some((t, smtp)) = start(b).await else {
        return;
    };
    let mut r = t.resident();
    let (link, card, due) = resident_with_card(&t, &mut r, &smtp, "4242424242424242").await;
    let row = t
        .count("SELECT COUNT(*) FROM wallet_methods WHERE brand = 'visa' AND last4 = '4242'")
        .await;
    assert_eq!(row, 1, "only the brand and last four digits are kept");
    let on = autopay_on(&mut r, &link, card, "3", "").await;
    assert_eq!(on.location.as_deref(), Some("/account?notice=autopay-on"));
    let home = r.get("/account?notice=autopay-on").await;
    assert!(
        home.main()
            .contains("Autopay is on: Visa ending 4242 is charged 3 days before each due date."),
        "{}",
        home.main()
    );

    // The sweep plans UT-1's charge for three days before it is due and tells the
    // resident; nothing is charged before then.
    sweep_and_drain(&t).await;
    let mails = smtp.wait_for(2).await;
    let planned = mails
        .iter()
        .find(|m| subject(m) == "Autopay will pay your Utilities bill")
        .unwrap_or_else(|| panic!("{mails:#?}"));
    assert!(planned.contains(&format!(
        "We will charge $84.12 to your Visa ending 4242 on {}",
        long(day(due, -3))
    )));
    assert_eq!(t.count("SELECT COUNT(*) FROM payments").await, 0);
    let home = r.get("/account").await;
    assert!(home.main().contains("Upcoming payments"));
    assert!(home.main().contains(&long(day(due, -3))));

    // Off and on again before the day: the plan goes, and comes back.
    let off = r
        .post(&format!("/account/links/{link}/autopay"), &[("off", "1")])
        .await;
    assert_eq!(off.location.as_deref(), Some("/account?notice=autopay-off"));
    let home = r.get("/account?notice=autopay-off").await;
    assert!(home.main().contains("No payments are scheduled."));
    autopay_on(&mut r, &link, card, "3", "").await;
    sweep_and_drain(&t).await;
    assert_eq!(
        t.count("SELECT COUNT(*) FROM planned_charges WHERE status = 'scheduled'")
            .await,
        1
    );
    smtp.wait_for(3).await;

    run_on(&t, day(due, -4)).await;
    assert_eq!(t.count("SELECT COUNT(*) FROM payments").await, 0, "not yet");
    run_on(&t, day(due, -3)).await;
    assert_eq!(t.balance("UT-1").await, 0, "paid in full on the day");
    let paid = t
        .count("SELECT COUNT(*) FROM planned_charges WHERE status = 'paid'")
        .await;
    assert_eq!(paid, 1);
    // The receipt goes to the account's address.
    let mails = smtp.wait_for(4).await;
    let receipt = mails
        .iter()
        .find(|m| subject(m).starts_with("Your payment receipt"))
        .unwrap();
    assert!(receipt.contains("To: maria@example.com"));
    assert!(receipt.contains("Visa ending 4242"));

    // Later sweeps and job runs charge nothing more.
    run_on(&t, day(due, -2)).await;
    assert_eq!(t.count("SELECT COUNT(*) FROM payments").await, 1);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(smtp.messages().len(), 4);

    // The history shows it (signed in again: days have passed).
    sign_in(&mut r, "maria@example.com").await;
    let home = r.get("/account").await;
    let number: String = {
        use sqlx::Row;
        sqlx::query("SELECT receipt_number FROM payments")
            .fetch_one(t.db().reader())
            .await
            .unwrap()
            .try_get("receipt_number")
            .unwrap()
    };
    assert!(home.main().contains(&number));
    assert!(home.main().contains("Nothing is due on this account."));
    t.stop().await;
}

async fn a_crash_after_the_charge_charges_once(b: Backend) {
    let Some((t, smtp)) = start(b).await else {
        return;
    };
    let mut r = t.resident();
    let (link, card, due) = resident_with_card(&t, &mut r, &smtp, "4242424242424242").await;
    autopay_on(&mut r, &link, card, "3", "").await;
    sweep_and_drain(&t).await;
    let planned = t.count("SELECT MAX(id) FROM planned_charges").await;

    // The job got as far as the processor's charge and the process died
    // before recording it: the payment exists (created), the processor
    // has charged the card, our books know nothing of it.
    let clock = t.clock.as_ref().unwrap();
    let target = day(due, -3)
        .at(9, 0, 0, 0)
        .to_zoned_datetime(t.app.config.timezone.clone())
        .unwrap()
        .timestamp();
    clock.advance(t.app.now().duration_until(target));
    let bill = t.bill_id("UT-1").await;
    let key = format!("planned-{planned}-0");
    let actor = app::audit::Actor::System("autopay");
    let payment = app::services::payments::prepare(
        &t.app,
        &StartRequest {
            items: vec![StartItem {
                receivable_id: bill,
                amount: domain::Cents::new(8412),
                seen_balance: None,
            }],
            idempotency_key: &key,
            email: None,
            locale: app::i18n::Locale::En,
            actor: &actor,
            source_ip: None,
        },
    )
    .await
    .unwrap();
    let method: String = {
        use sqlx::Row;
        sqlx::query("SELECT method_ref FROM wallet_methods")
            .fetch_one(t.db().reader())
            .await
            .unwrap()
            .try_get("method_ref")
            .unwrap()
    };
    let first = t
        .app
        .processor
        .charge_saved(&ChargeRequest {
            payment_id: payment.id.clone(),
            idempotency_key: format!("charge-{}", payment.id),
            customer: None,
            method_ref: method,
            total: payment.total,
            description: "City of Springfield".into(),
        })
        .await
        .unwrap();
    let app::processor::ChargeOutcome::Succeeded { processor_ref, .. } = first else {
        panic!("{first:?}");
    };

    // After the restart the job runs again.
    assert_eq!(
        wallet::run_planned(&t.app, planned).await.unwrap(),
        wallet::Ran::Done
    );
    app::jobs::drain(&t.app).await.unwrap();
    let p = t.payment(&payment.id).await;
    assert!(crate::resident::is_succeeded(&p), "{p:?}");
    assert_eq!(p.processor_ref.as_deref(), Some(processor_ref.as_str()));
    assert_eq!(t.count("SELECT COUNT(*) FROM payments").await, 1);
    assert_eq!(t.balance("UT-1").await, 0);
    // One charge at the processor.
    let from = t.app.now() - jiff::SignedDuration::from_hours(24 * 40);
    let to = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1);
    let charges: Vec<_> = t
        .app
        .processor
        .transactions(
            from.min(jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1)),
            to,
        )
        .await
        .unwrap()
        .into_iter()
        .filter(|x| x.checkout_ref == processor_ref)
        .collect();
    assert_eq!(charges.len(), 1, "{charges:?}");
    // And one posting.
    let entries = t
        .count(&format!(
            "SELECT COUNT(*) FROM journal_entries WHERE payment_id = '{}'",
            payment.id
        ))
        .await;
    assert_eq!(entries, 1);
    t.stop().await;
}

async fn declines_are_retried_then_given_up(b: Backend) {
    let Some((t, smtp)) = start(b).await else {
        return;
    };
    let mut r = t.resident();
    let (link, card, due) = resident_with_card(&t, &mut r, &smtp, "4000000000000002").await;
    autopay_on(&mut r, &link, card, "6", "").await;
    sweep_and_drain(&t).await;
    smtp.wait_for(2).await;
    // Six days before the due date: declined, tried again two and four
    // days later, then given up (no third retry).
    run_on(&t, day(due, -6)).await;
    let mails = smtp.wait_for(3).await;
    let first = mails
        .iter()
        .find(|m| subject(m) == "Your Utilities payment did not go through")
        .unwrap_or_else(|| panic!("{mails:#?}"));
    assert!(first.contains(&format!("We will try again on {}", long(day(due, -4)))));
    run_on(&t, day(due, -4)).await;
    let mails = smtp.wait_for(4).await;
    assert!(
        mails
            .iter()
            .any(|m| m.contains(&format!("We will try again on {}", long(day(due, -2)))))
    );
    run_on(&t, day(due, -2)).await;
    let mails = smtp.wait_for(5).await;
    assert!(mails.iter().any(|m| m.contains("We will not try again")));
    run_on(&t, day(due, -1)).await;
    assert_eq!(
        t.count("SELECT COUNT(*) FROM payments WHERE status = 'failed'")
            .await,
        3,
        "three attempts, each its own payment"
    );
    assert_eq!(
        t.count("SELECT COUNT(*) FROM planned_charges WHERE status = 'declined'")
            .await,
        1
    );
    assert_eq!(t.balance("UT-1").await, 8412);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(smtp.messages().len(), 5);
    t.stop().await;
}

async fn over_the_maximum_and_removed_cards_are_not_charged(b: Backend) {
    let Some((t, smtp)) = start(b).await else {
        return;
    };
    let mut r = t.resident();
    let (link, card, due) = resident_with_card(&t, &mut r, &smtp, "4242424242424242").await;
    let bad = autopay_on(&mut r, &link, card, "40", "").await;
    assert_eq!(bad.status, 400);
    assert!(bad.main().contains("from 0 to 28"));
    let on = autopay_on(&mut r, &link, card, "3", "50.00").await;
    assert_eq!(on.location.as_deref(), Some("/account?notice=autopay-on"));
    sweep_and_drain(&t).await;
    run_on(&t, day(due, -3)).await;
    let mails = smtp.wait_for(3).await;
    let told = mails
        .iter()
        .find(|m| subject(m) == "Your Utilities bill was not paid automatically")
        .unwrap_or_else(|| panic!("{mails:#?}"));
    assert!(told.contains("more than the most you set"));
    assert_eq!(t.count("SELECT COUNT(*) FROM payments").await, 0);

    // Removing the card removes it at the processor and turns autopay off.
    sign_in(&mut r, "maria@example.com").await;
    let gone = r.post(&format!("/account/cards/{card}/remove"), &[]).await;
    assert_eq!(
        gone.location.as_deref(),
        Some("/account?notice=card-removed")
    );
    let home = r.get("/account").await;
    assert!(home.main().contains("Autopay is off for this account."));
    let method: String = {
        use sqlx::Row;
        sqlx::query("SELECT method_ref FROM wallet_methods")
            .fetch_one(t.db().reader())
            .await
            .unwrap()
            .try_get("method_ref")
            .unwrap()
    };
    let refused = t
        .app
        .processor
        .charge_saved(&ChargeRequest {
            payment_id: "00000000-0000-0000-0000-000000000000".into(),
            idempotency_key: "after-removal".into(),
            customer: None,
            method_ref: method,
            total: domain::Cents::new(100),
            description: "test".into(),
        })
        .await;
    assert!(refused.is_err(), "the processor no longer has the card");
    // Someone else's card cannot be removed.
    let mut other = t.resident();
    sign_up_and_in(&mut other, &smtp, "eve@example.com", 3).await;
    let theirs = other
        .post(&format!("/account/cards/{card}/remove"), &[])
        .await;
    assert_eq!(theirs.status, 404);
    t.stop().await;
}

async fn scheduled_payments_run_on_their_day_and_can_be_cancelled(b: Backend) {
    let Some((t, smtp)) = start(b).await else {
        return;
    };
    let mut r = t.resident();
    let (_, card, due) = resident_with_card(&t, &mut r, &smtp, "4242424242424242").await;
    let bill = t.bill_id("UT-1").await;
    let path = format!("/account/schedule/{bill}");
    let form = r.get(&path).await;
    assert_eq!(form.status, 200);
    assert!(form.main().contains("$84.12 is owed"));
    let card = card.to_string();
    // A day after the due date, and a malformed one, are refused.
    let late = r
        .post(
            &path,
            &[
                ("amount", "20.00"),
                ("date", &day(due, 1).to_string()),
                ("card", &card),
            ],
        )
        .await;
    assert_eq!(late.status, 400);
    assert!(
        late.main()
            .contains(&format!("choose a day from tomorrow until {}", long(due)))
    );
    let bad = r
        .post(
            &path,
            &[("amount", "20.00"), ("date", "next week"), ("card", &card)],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.main().contains("year-month-day"));
    let too_much = r
        .post(
            &path,
            &[
                ("amount", "100.00"),
                ("date", &day(due, -8).to_string()),
                ("card", &card),
            ],
        )
        .await;
    assert_eq!(too_much.status, 400);
    // Two scheduled; one cancelled.
    for date in [day(due, -13).to_string(), day(due, -8).to_string()] {
        let ok = r
            .post(
                &path,
                &[("amount", "20.00"), ("date", &date), ("card", &card)],
            )
            .await;
        assert_eq!(
            ok.location.as_deref(),
            Some("/account?notice=scheduled"),
            "{}",
            ok.body
        );
    }
    let home = r.get("/account").await;
    assert!(
        home.main()
            .contains(&format!("Cancel the payment of {}", long(day(due, -13))))
    );
    let first = t.count("SELECT MIN(id) FROM planned_charges").await;
    let cancelled = r
        .post(&format!("/account/scheduled/{first}/cancel"), &[])
        .await;
    assert_eq!(
        cancelled.location.as_deref(),
        Some("/account?notice=schedule-cancelled")
    );
    let again = r
        .post(&format!("/account/scheduled/{first}/cancel"), &[])
        .await;
    assert_eq!(again.status, 404, "only a waiting payment can be cancelled");

    run_on(&t, day(due, -13)).await;
    assert_eq!(
        t.count("SELECT COUNT(*) FROM payments").await,
        0,
        "cancelled"
    );
    run_on(&t, day(due, -8)).await;
    assert_eq!(t.balance("UT-1").await, 8412 - 2000);
    assert_eq!(
        t.count("SELECT COUNT(*) FROM planned_charges WHERE status = 'paid'")
            .await,
        1
    );
    t.stop().await;
}

async fn breach_scope_covers_resident_accounts(b: Backend) {
    use app::services::breach::{Category, Component, scope};
    let Some((t, smtp)) = start(b).await else {
        return;
    };
    let mut r = t.resident();
    resident_with_card(&t, &mut r, &smtp, "4242424242424242").await;
    // A second account, without a card, that pays as a guest too.
    let mut other = t.resident();
    sign_up_and_in(&mut other, &smtp, "sam@example.com", 1).await;
    let actor = app::audit::Actor::System("test");
    let now = t.app.now();
    let (from, to) = (
        now - jiff::SignedDuration::from_hours(1),
        now + jiff::SignedDuration::from_hours(1),
    );
    let db = scope(&t.app, Component::Database, from, to, &actor)
        .await
        .unwrap();
    let maria = db
        .recipients
        .iter()
        .find(|x| x.email.as_deref() == Some("maria@example.com"))
        .unwrap_or_else(|| panic!("{:?}", db.recipients));
    assert!(maria.categories.contains(&Category::AccountLogin));
    assert!(maria.categories.contains(&Category::SavedCard));
    let sam = db
        .recipients
        .iter()
        .find(|x| x.email.as_deref() == Some("sam@example.com"))
        .unwrap();
    assert!(!sam.categories.contains(&Category::SavedCard));
    // The public site: those who typed their password during the window.
    let public = scope(&t.app, Component::Public, from, to, &actor)
        .await
        .unwrap();
    assert_eq!(
        public
            .recipients
            .iter()
            .filter(|x| x.categories.contains(&Category::AccountLogin))
            .count(),
        2
    );
    let before = scope(
        &t.app,
        Component::Public,
        from - jiff::SignedDuration::from_hours(48),
        from - jiff::SignedDuration::from_hours(24),
        &actor,
    )
    .await
    .unwrap();
    assert!(
        !before
            .recipients
            .iter()
            .any(|x| x.categories.contains(&Category::AccountLogin))
    );
    t.stop().await;
}

async fn unlinking_cancels_what_was_planned(b: Backend) {
    let Some((t, smtp)) = start(b).await else {
        return;
    };
    let mut r = t.resident();
    let (link, card, due) = resident_with_card(&t, &mut r, &smtp, "4242424242424242").await;
    let bill = t.bill_id("UT-1").await;
    r.get(&format!("/account/schedule/{bill}")).await;
    let scheduled = r
        .post(
            &format!("/account/schedule/{bill}"),
            &[
                ("amount", "20.00"),
                ("date", &day(due, -8).to_string()),
                ("card", &card.to_string()),
            ],
        )
        .await;
    assert_eq!(
        scheduled.location.as_deref(),
        Some("/account?notice=scheduled")
    );
    autopay_on(&mut r, &link, card, "3", "").await;
    sweep_and_drain(&t).await;
    assert_eq!(
        t.count("SELECT COUNT(*) FROM planned_charges WHERE status = 'scheduled'")
            .await,
        2
    );
    r.get("/account").await;
    let gone = r.post(&format!("/account/links/{link}/unlink"), &[]).await;
    assert_eq!(gone.location.as_deref(), Some("/account?notice=unlinked"));
    assert_eq!(
        t.count("SELECT COUNT(*) FROM planned_charges WHERE status = 'cancelled'")
            .await,
        2
    );
    run_on(&t, day(due, -3)).await;
    assert_eq!(t.count("SELECT COUNT(*) FROM payments").await, 0);
    t.stop().await;
}

async fn staff_help_a_resident_who_lost_their_authenticator(b: Backend) {
    use app::staff::roles::Role;
    let Some((t, smtp)) = start(b).await else {
        return;
    };
    let mut r = t.resident();
    resident_with_card(&t, &mut r, &smtp, "4242424242424242").await;
    let setup = r.get("/account/totp").await;
    let key = key_on(&setup);
    let on = r
        .post("/account/totp", &[("code", &code_for(&t, &key, 0))])
        .await;
    assert_eq!(on.location.as_deref(), Some("/account?notice=totp-on"));
    let mails_before = smtp.messages().len();
    let totp_on = "SELECT COUNT(*) FROM residents WHERE totp_secret_enc IS NOT NULL";
    assert_eq!(t.count(totp_on).await, 1);

    // A viewer cannot look residents up.
    let mut viewer = t.staff(Role::Viewer).await;
    assert_eq!(viewer.get("/residents").await.status, 403);

    // A clerk finds the account by its address (in any case), after a
    // malformed address and an unknown one.
    let mut clerk = t.staff(Role::Clerk).await;
    let form = clerk.get("/residents").await;
    assert_eq!(form.status, 200);
    let bad = clerk
        .post("/residents", &[("email", "maria at example")])
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("id=\"email-error\""), "{}", bad.body);
    let unknown = clerk
        .post("/residents", &[("email", "nobody@example.com")])
        .await;
    assert_eq!(unknown.status, 200);
    assert!(unknown.body.contains("No online account uses that address"));
    let found = clerk
        .post("/residents", &[("email", "Maria@Example.com")])
        .await;
    assert_eq!(found.status, 303, "{}", found.body);
    let at = found.location.clone().unwrap();
    assert!(at.starts_with("/residents/"), "{at}");
    let page = clerk.get(&at).await;
    assert_eq!(page.status, 200);
    for shown in [
        "maria@example.com",
        "Confirmed",
        "ending 4242",
        "Two-step verification",
    ] {
        assert!(page.body.contains(shown), "{shown} in {}", page.body);
    }
    assert!(!page.body.contains("$argon2"), "never the password hash");

    // Without a reason nothing changes.
    let off_path = format!("{at}/second-factor");
    let refused = clerk.post(&off_path, &[("reason", "   ")]).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("Say how you confirmed who is asking"));
    assert!(refused.body.contains("href=\"#second-factor-reason\""));
    assert_eq!(t.count(totp_on).await, 1);

    // With one, the second factor is off, the resident's sessions end and
    // they are told by e-mail.
    let why = "Called back on the number on the 1002-3345 bill";
    let off = clerk.post(&off_path, &[("reason", why)]).await;
    assert_eq!(
        off.location.as_deref(),
        Some(format!("{at}?done=second-factor").as_str())
    );
    assert_eq!(t.count(totp_on).await, 0);
    assert_eq!(r.get("/account").await.status, 303, "signed out");
    let mails = smtp.wait_for(mails_before + 1).await;
    let told = mails
        .iter()
        .find(|m| subject(m).starts_with("Two-step verification was turned off"))
        .expect("the resident is told");
    assert!(told.contains("maria@example.com"));
    let audited = t
        .count(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'resident.second_factor_off'
             AND actor LIKE 'staff:%' AND details LIKE '%{why}%'"
        ))
        .await;
    assert_eq!(audited, 1);
    // Twice changes nothing more.
    let again = clerk.post(&off_path, &[("reason", why)]).await;
    assert_eq!(
        again.location.as_deref(),
        Some(format!("{at}?done=second-factor-was-off").as_str())
    );
    assert_eq!(
        t.count("SELECT COUNT(*) FROM audit_events WHERE action = 'resident.second_factor_off'")
            .await,
        1
    );

    // The password alone signs in now; staff can end that session too.
    sign_in(&mut r, "maria@example.com").await;
    let ended = clerk
        .post(
            &format!("{at}/sessions"),
            &[("reason", "Signed in at the library; called back")],
        )
        .await;
    assert_eq!(
        ended.location.as_deref(),
        Some(format!("{at}?done=sessions").as_str())
    );
    assert_eq!(r.get("/account").await.status, 303, "signed out again");

    // Every look-up and view is recorded; an auditor sees, and cannot act.
    assert_eq!(
        t.count("SELECT COUNT(*) FROM audit_events WHERE action = 'resident.looked_up'")
            .await,
        2
    );
    assert!(
        t.count("SELECT COUNT(*) FROM audit_events WHERE action = 'resident.viewed'")
            .await
            >= 1
    );
    let mut auditor = t.staff(Role::Auditor).await;
    let seen = auditor.get(&at).await;
    assert_eq!(seen.status, 200);
    assert!(!seen.body.contains("Sign the resident out everywhere"));
    let blocked = auditor
        .post(&format!("{at}/sessions"), &[("reason", "curious")])
        .await;
    assert_eq!(blocked.status, 403);
    assert!(clerk.get("/residents/999999").await.status == 404);
    t.stop().await;
}
