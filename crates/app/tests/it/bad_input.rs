//! Bad input from residents: clear messages beside fields, nothing created,
//! no account enumeration, never a 500.

use crate::db_tests;
use crate::harness::{Backend, spawn_app};
use crate::resident::read;

db_tests!(
    unknown_account_and_wrong_zip_look_the_same,
    malformed_lookup_fields_are_explained,
    bad_amounts_come_back_beside_the_field,
    forms_without_a_valid_token_or_origin_are_refused,
    oversized_and_odd_requests,
    one_session_cannot_pay_another_accounts_bill,
);

/// The page without what the resident typed back into the inputs.
fn without_values(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some(i) = rest.find("value=\"") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 7..];
        let end = after.find('"').unwrap_or(after.len());
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

async fn unknown_account_and_wrong_zip_look_the_same(b: Backend) {
    let t = spawn_app(b).await;
    let mut r = t.resident();
    let unknown = r.lookup("9999-0000", "94110").await;
    let wrong_zip = r.lookup("1002-3345", "94111").await;
    assert_eq!(unknown.status, 400);
    assert_eq!(wrong_zip.status, 400);
    assert!(
        unknown
            .main()
            .contains("We could not find a bill with that account number and ZIP code")
    );
    assert_eq!(
        without_values(&unknown.body),
        without_values(&wrong_zip.body)
    );
    let failures = t
        .count("SELECT COUNT(*) FROM audit_events WHERE action = 'lookup.failed'")
        .await;
    assert_eq!(failures, 2, "failed look-ups are audited");
    // Nothing was granted: the bills page sends the resident back.
    let bills = r.get("/pay/utilities/bills").await;
    assert_eq!(bills.location.as_deref(), Some("/pay/utilities"));
    t.stop().await;
}

async fn malformed_lookup_fields_are_explained(b: Backend) {
    let t = spawn_app(b).await;
    let mut r = t.resident();
    let page = r.lookup("12;DROP TABLE", "9411").await;
    assert_eq!(page.status, 400);
    let main = page.main();
    assert!(main.contains("There is a problem"));
    assert!(main.contains("an account number has letters and digits only"));
    assert!(main.contains("enter a 5-digit ZIP code"));
    assert!(
        main.contains("href=\"#account_number\""),
        "summary links to the field"
    );
    assert!(main.contains("aria-invalid=\"true\""));
    let empty = r.lookup("", "").await;
    assert!(empty.main().contains("enter your account number"));
    assert!(
        empty
            .main()
            .contains("enter the ZIP code of the service address")
    );
    assert!(
        page.body.contains("<title>Error: "),
        "title says there is an error"
    );
    t.stop().await;
}

async fn bad_amounts_come_back_beside_the_field(b: Backend) {
    let t = spawn_app(b).await;
    let mut r = t.resident();
    r.lookup("1002-3345", "94110").await;
    let bill = t.bill_id("UT-1").await;
    for (typed, message) in [
        (
            "12.345",
            "An amount cannot have more than two decimal places",
        ),
        ("-5", "The amount cannot be negative"),
        ("0", "Enter an amount greater than zero"),
        ("abc", "Enter an amount in dollars and cents"),
        ("", "Enter an amount"),
        ("84.13", "You can pay at most $84.12, the amount due"),
        ("0.50", "The smallest payment accepted is $1.00"),
        ("1e3", "Enter an amount in dollars and cents"),
    ] {
        let page = r.choose(bill, "other", typed).await;
        assert_eq!(page.status, 400, "{typed}: {}", page.body);
        assert!(page.main().contains(message), "{typed}: {}", page.main());
        assert!(
            page.main().contains(&format!("id=\"amount-{bill}-error\"")),
            "error beside the field"
        );
        assert!(page.main().contains(&format!("href=\"#amount-{bill}\"")));
    }
    assert_eq!(t.count("SELECT COUNT(*) FROM payments").await, 0);
    let review = r.get("/pay/review").await;
    assert_eq!(review.status, 303, "no draft was kept");
    // A bad e-mail address on the review page.
    r.choose(bill, "full", "").await;
    let review = r.get("/pay/review").await;
    let key = review.input("idempotency_key").unwrap();
    let page = r
        .post(
            "/pay/review",
            &[("idempotency_key", &key), ("email", "maria@")],
        )
        .await;
    assert_eq!(page.status, 400);
    assert!(
        page.main()
            .contains("Enter an e-mail address like name@example.com")
    );
    assert_eq!(t.count("SELECT COUNT(*) FROM payments").await, 0);
    t.stop().await;
}

async fn forms_without_a_valid_token_or_origin_are_refused(b: Backend) {
    let t = spawn_app(b).await;
    let r = t.resident();
    let url = format!("{}/pay/utilities", t.public);
    // Visit first so the session cookie exists.
    read(r.client.get(&url).send().await.unwrap()).await;
    let fields = [("account_number", "1002-3345"), ("zip", "94110")];
    let no_token = read(r.client.post(&url).form(&fields).send().await.unwrap()).await;
    assert_eq!(no_token.status, 403);
    assert!(no_token.body.contains("Nothing was changed"));
    let wrong = [
        ("csrf", "forged"),
        ("account_number", "1002-3345"),
        ("zip", "94110"),
    ];
    assert_eq!(
        read(r.client.post(&url).form(&wrong).send().await.unwrap())
            .await
            .status,
        403
    );
    let page = read(r.client.get(&url).send().await.unwrap()).await;
    let csrf = page.csrf();
    let good = [
        ("csrf", csrf.as_str()),
        ("account_number", "1002-3345"),
        ("zip", "94110"),
    ];
    let cross = read(
        r.client
            .post(&url)
            .header("origin", "https://evil.example")
            .form(&good)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(cross.status, 403);
    let cross_site = read(
        r.client
            .post(&url)
            .header("sec-fetch-site", "cross-site")
            .form(&good)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(cross_site.status, 403);
    // Another session's token does not work in this one.
    let other = t.resident();
    let theirs = read(other.client.get(&url).send().await.unwrap())
        .await
        .csrf();
    let stolen = [
        ("csrf", theirs.as_str()),
        ("account_number", "1002-3345"),
        ("zip", "94110"),
    ];
    assert_eq!(
        read(r.client.post(&url).form(&stolen).send().await.unwrap())
            .await
            .status,
        403
    );
    assert_eq!(
        t.count("SELECT COUNT(*) FROM sessions").await,
        0,
        "nothing was stored"
    );
    // The same form from the same origin works.
    let same = read(
        r.client
            .post(&url)
            .header("origin", t.public.clone())
            .header("sec-fetch-site", "same-origin")
            .form(&good)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(same.status, 303);
    t.stop().await;
}

async fn oversized_and_odd_requests(b: Backend) {
    let t = spawn_app(b).await;
    let r = t.resident();
    let url = format!("{}/pay/utilities", t.public);
    let csrf = read(r.client.get(&url).send().await.unwrap()).await.csrf();
    let huge = "x".repeat(64 * 1024);
    // Its own connection: the server answers 413 without reading the body
    // and closes the connection.
    let big = read(
        t.resident()
            .client
            .post(&url)
            .form(&[("csrf", csrf.as_str()), ("account_number", huge.as_str())])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(big.status, 413);
    assert!(big.body.contains("What you sent is too large"));
    let json = read(
        r.client
            .post(&url)
            .header("content-type", "application/json")
            .body("{\"account_number\":\"1\"}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(json.status, 415);
    for path in [
        "/nope",
        "/pay/parking",
        "/pay/receipt/not-a-uuid",
        "/pay/receipt/00000000-0000-4000-8000-000000000000",
        "/pay/utilities/bills/extra",
    ] {
        let p = read(
            r.client
                .get(format!("{}{path}", t.public))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(p.status, 404, "{path}");
        assert!(p.body.contains("Page not found"), "{path}");
    }
    let wrong_method = read(r.client.delete(&url).send().await.unwrap()).await;
    assert_eq!(wrong_method.status, 405);
    let garbage = read(
        r.client
            .post(format!("{}/pay/utilities/bills", t.public))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("csrf={csrf}&bill=%ZZ&bill=2&choice[]=x"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(garbage.status < 500, "{}", garbage.status);
    t.stop().await;
}

async fn one_session_cannot_pay_another_accounts_bill(b: Backend) {
    let t = spawn_app(b).await;
    let mut r = t.resident();
    r.lookup("1002-3345", "94110").await;
    let someone_elses = t.bill_id("UT-4").await;
    let page = r.choose(someone_elses, "full", "").await;
    assert_eq!(page.status, 404);
    let no_such = r.choose(999_999, "full", "").await;
    assert_eq!(no_such.status, 404);
    let not_a_number = r
        .post("/pay/utilities/bills", &[("bill", "x"), ("choice", "full")])
        .await;
    assert_eq!(not_a_number.status, 400);
    assert_eq!(t.count("SELECT COUNT(*) FROM payments").await, 0);
    t.stop().await;
}
