//! A resident's browser, as plain HTTP: its own cookie jar, no JavaScript,
//! redirects followed by hand so each hop can be checked.

use std::time::Duration;

use app::store;
use app::store::payments::PaymentRow;
use domain::payment::PaymentStatus;

use crate::harness::TestApp;

#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    /// Value of the first hidden/text input called `name`.
    pub fn input(&self, name: &str) -> Option<String> {
        let needle = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&needle)? + needle.len();
        let end = self.body[start..].find('"')? + start;
        Some(self.body[start..end].to_owned())
    }

    pub fn csrf(&self) -> String {
        self.input("csrf").expect("page has a CSRF token")
    }

    pub fn main(&self) -> &str {
        let start = self.body.find("<main").unwrap_or(0);
        let end = self.body.find("</main>").unwrap_or(self.body.len());
        &self.body[start..end]
    }
}

pub struct Resident<'a> {
    pub t: &'a TestApp,
    pub client: reqwest::Client,
    csrf: Option<String>,
}

impl TestApp {
    /// A new browser (its own session).
    pub fn resident(&self) -> Resident<'_> {
        Resident {
            t: self,
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            csrf: None,
        }
    }

    pub async fn bill_id(&self, reference: &str) -> i64 {
        use sqlx::Row;
        sqlx::query("SELECT id FROM receivables WHERE reference = $1")
            .bind(reference)
            .fetch_one(self.db().reader())
            .await
            .unwrap()
            .try_get("id")
            .unwrap()
    }

    pub async fn payment(&self, id: &str) -> PaymentRow {
        store::payments::by_id(self.db().reader(), id)
            .await
            .unwrap()
            .unwrap()
    }

    /// Waits (up to 10 s) for the processor's word to reach the payment.
    pub async fn settled(&self, id: &str) -> PaymentRow {
        for _ in 0..200 {
            let p = self.payment(id).await;
            if !p.status.is_open() {
                return p;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("payment {id} never settled");
    }

    pub async fn count(&self, sql: &str) -> i64 {
        use sqlx::Row;
        sqlx::query(sql)
            .fetch_one(self.db().reader())
            .await
            .unwrap()
            .try_get::<i64, _>(0)
            .unwrap()
    }

    /// `ledger check` finds nothing wrong.
    pub async fn assert_books_balance(&self) {
        let problems = store::ledger::check(self.db().reader()).await.unwrap();
        assert!(problems.is_empty(), "{problems:?}");
    }

    /// The payment opened for a checkout at the processor.
    pub async fn payment_for_checkout(&self, checkout_id: &str) -> String {
        use sqlx::Row;
        sqlx::query("SELECT id FROM payments WHERE processor_ref = $1")
            .bind(checkout_id)
            .fetch_one(self.db().reader())
            .await
            .unwrap()
            .try_get("id")
            .unwrap()
    }

    /// The amount still owed on a bill, from the ledger.
    pub async fn balance(&self, reference: &str) -> i64 {
        let id = self.bill_id(reference).await;
        store::receivables::view(self.db().reader(), id, self.app.now_us())
            .await
            .unwrap()
            .unwrap()
            .balance()
            .get()
    }
}

pub async fn read(resp: reqwest::Response) -> Page {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let location = headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = resp.text().await.unwrap_or_default();
    Page {
        status,
        location,
        headers,
        body,
    }
}

impl Resident<'_> {
    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.t.public)
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let page = read(self.client.get(self.url(path)).send().await.unwrap()).await;
        if let Some(c) = page.input("csrf") {
            self.csrf = Some(c);
        }
        page
    }

    /// Posts a form with this session's CSRF token.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = match &self.csrf {
            Some(c) => c.clone(),
            None => {
                self.get("/").await;
                self.get("/pay/utilities").await.csrf()
            }
        };
        let mut form: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        let page = read(
            self.client
                .post(self.url(path))
                .form(&form)
                .send()
                .await
                .unwrap(),
        )
        .await;
        if let Some(c) = page.input("csrf") {
            self.csrf = Some(c);
        }
        page
    }

    /// Looks the account up and chooses to pay `reference` in full, up to
    /// the review page.
    pub async fn prepare(&mut self, account: &str, zip: &str, reference: &str) {
        let found = self.lookup(account, zip).await;
        assert_eq!(found.status, 303, "lookup: {}", found.body);
        let bill = self.t.bill_id(reference).await;
        let chosen = self.choose(bill, "full", "").await;
        assert_eq!(chosen.status, 303, "choose: {}", chosen.body);
    }

    pub async fn lookup(&mut self, account: &str, zip: &str) -> Page {
        self.get("/pay/utilities").await;
        self.post(
            "/pay/utilities",
            &[("account_number", account), ("zip", zip)],
        )
        .await
    }

    pub async fn choose(&mut self, bill: i64, choice: &str, amount: &str) -> Page {
        let bill = bill.to_string();
        self.post(
            "/pay/utilities/bills",
            &[("bill", &bill), ("choice", choice), ("amount", amount)],
        )
        .await
    }

    /// Confirms the review page; returns the response (303 to the
    /// processor on success).
    pub async fn confirm(&mut self, email: &str) -> Page {
        let review = self.get("/pay/review").await;
        assert_eq!(review.status, 200, "review page: {}", review.body);
        let key = review.input("idempotency_key").unwrap();
        self.post(
            "/pay/review",
            &[("idempotency_key", &key), ("email", email)],
        )
        .await
    }

    /// Enters a card on the sandbox's hosted page; returns the redirect back.
    pub async fn pay_on_processor(&mut self, checkout_url: &str, card: &str) -> Page {
        let page = self.get(checkout_url).await;
        assert_eq!(page.status, 200, "sandbox page");
        let token = page.input("token").unwrap();
        let form = [
            ("token", token.as_str()),
            ("name", "Maria Lopez"),
            ("number", card),
            ("expiry", "12/39"),
            ("cvc", "123"),
        ];
        read(
            self.client
                .post(checkout_url)
                .form(&form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Confirms the review page prepared earlier and pays with a card that
    /// succeeds; returns the payment id once it has succeeded.
    pub async fn confirm_and_pay(&mut self, email: &str) -> String {
        let sent = self.confirm(email).await;
        assert_eq!(sent.status, 303, "confirm: {}", sent.body);
        let back = self
            .pay_on_processor(&sent.location.unwrap(), "4242424242424242")
            .await;
        let id = back
            .location
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned();
        assert!(is_succeeded(&self.t.settled(&id).await), "payment {id}");
        id
    }

    /// The whole journey for one bill, paying in full; returns the payment
    /// id and the page the processor sent us back to.
    pub async fn pay_bill(
        &mut self,
        account: &str,
        zip: &str,
        reference: &str,
        card: &str,
        email: &str,
    ) -> (String, Page) {
        self.prepare(account, zip, reference).await;
        let confirmed = self.confirm(email).await;
        assert_eq!(confirmed.status, 303, "confirm: {}", confirmed.body);
        let checkout = confirmed.location.unwrap();
        assert!(
            checkout.starts_with(&self.t.sandbox),
            "redirected to the processor's origin: {checkout}"
        );
        let back = self.pay_on_processor(&checkout, card).await;
        assert_eq!(back.status, 303);
        let ret = back.location.clone().unwrap();
        let id = ret.rsplit('/').next().unwrap().to_owned();
        (id, back)
    }
}

pub fn is_succeeded(p: &PaymentRow) -> bool {
    p.status == PaymentStatus::Succeeded
}
