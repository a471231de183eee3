//! Departments are configuration: what a resident types to find a bill,
//! how it is verified, the payment rules, the card fee and the ledger codes.

use std::collections::BTreeMap;

use domain::Cents;
use domain::fees::FeeRule;
use domain::ledger::{AccountCode, LedgerAccounts};
use domain::licence_fee::{CategoryFee, FeeSchedule, LatePenalty, Surcharge};
use domain::payment::AmountRules;
use domain::receivable::DepartmentId;
use domain::verifier::NumberFormat;
pub use domain::verifier::VerifierKind;
use rust_decimal::Decimal;

use super::reader::Reader;
use crate::i18n::Locale;

#[derive(Debug, Clone)]
pub struct Department {
    pub id: DepartmentId,
    pub name: String,
    pub summary: String,
    pub lookup_label: String,
    pub lookup_hint: String,
    /// The same texts for Spanish pages (`[departments.ID.es]`); each one
    /// not set there falls back to our Spanish default where the English
    /// one is our default, and to the city's English text otherwise.
    pub spanish: DepartmentText,
    /// What proves a resident holds the bill, besides its number.
    pub verifier: VerifierKind,
    /// The shape of the number on the department's notices, checked at
    /// look-up and at import.
    pub account_format: Option<NumberFormat>,
    /// The receivables file's header for each of our columns, where the
    /// department's system names them otherwise (`[departments.ID.import]`).
    pub import_headers: BTreeMap<String, String>,
    pub rules: AmountRules,
    pub card_fee: FeeRule,
    pub ledger: LedgerAccounts,
    /// Refunds above this need a second staff member's approval.
    pub refund_approval_threshold: Cents,
    /// A department that issues business licences: its renewal rules and
    /// fee schedule (`[departments.ID.licences]`).
    pub licences: Option<LicenceRules>,
    /// What a resident shows, besides the verifier, to link the account
    /// to their resident account.
    pub link_proof: LinkProof,
}

/// Proof of holding an account, for linking it to a resident account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkProof {
    /// The account number and the verifier, as for a payment.
    Verifier,
    /// Those and the amount of the account's latest bill.
    VerifierAndLastBill,
}

/// How a licensing department's licences are renewed.
#[derive(Debug, Clone, PartialEq)]
pub struct LicenceRules {
    /// Renewal opens this many days before the licence expires.
    pub renewal_window_days: i64,
    /// How long a renewal extends the licence, in months.
    pub term_months: i64,
    pub schedule: FeeSchedule,
    /// Each category's name in English and Spanish.
    pub category_names: BTreeMap<String, (String, String)>,
}

/// What residents read about a department, in one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepartmentText {
    pub name: String,
    pub summary: String,
    pub lookup_label: String,
    pub lookup_hint: String,
}

impl Department {
    pub fn text(&self, locale: Locale) -> DepartmentText {
        match locale {
            Locale::En => DepartmentText {
                name: self.name.clone(),
                summary: self.summary.clone(),
                lookup_label: self.lookup_label.clone(),
                lookup_hint: self.lookup_hint.clone(),
            },
            Locale::Es => self.spanish.clone(),
        }
    }
}

pub(super) fn read_departments(r: &mut Reader) -> Option<Vec<Department>> {
    let ids = r.table_keys("departments");
    if ids.is_empty() {
        r.error("departments", "configure at least one department");
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for key in ids {
        // Where the department stands in lists (the start page): lowest
        // first, then by id.
        let position = r.integer(&format!("departments.{key}.position"), 100, 0, 10_000);
        match read_department(r, &key) {
            Some(d) => out.push((position, d)),
            None => ok = false,
        }
    }
    out.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| a.1.id.as_str().cmp(b.1.id.as_str()))
    });
    ok.then(|| out.into_iter().map(|(_, d)| d).collect())
}

fn read_department(r: &mut Reader, key: &str) -> Option<Department> {
    let p = |s: &str| format!("departments.{key}.{s}");
    let id = match DepartmentId::parse(key) {
        Ok(id) => Some(id),
        Err(e) => {
            r.error(&format!("departments.{key}"), e);
            None
        }
    };
    let name = r.parsed(&p("name"), None, |s| {
        if s.is_empty() || s.len() > 80 {
            Err("a department name is 1 to 80 characters")
        } else {
            Ok(s.to_owned())
        }
    });
    let summary = r.string(&p("summary"), "");
    let lookup_label = r.opt_string(&p("lookup_label"));
    let lookup_hint = r.opt_string(&p("lookup_hint"));
    let spanish = DepartmentText {
        name: r
            .opt_string(&p("es.name"))
            .or_else(|| name.clone())
            .unwrap_or_default(),
        summary: r
            .opt_string(&p("es.summary"))
            .unwrap_or_else(|| summary.clone()),
        lookup_label: r
            .opt_string(&p("es.lookup_label"))
            .or_else(|| lookup_label.clone())
            .unwrap_or_else(|| Locale::Es.msg("lookup-default-label")),
        lookup_hint: r
            .opt_string(&p("es.lookup_hint"))
            .or_else(|| lookup_hint.clone())
            .unwrap_or_else(|| Locale::Es.msg("lookup-default-hint")),
    };
    let lookup_label = lookup_label.unwrap_or_else(|| Locale::En.msg("lookup-default-label"));
    let lookup_hint = lookup_hint.unwrap_or_else(|| Locale::En.msg("lookup-default-hint"));
    let verifier = r.parsed(&p("verifier"), Some("zip"), |s| {
        VerifierKind::parse(s).ok_or("known verifiers: zip, pin, name, plate_state")
    });
    let account_format = if r.is_set(&p("account_format")) {
        r.parsed(&p("account_format"), None, NumberFormat::parse)
            .map(Some)
    } else {
        Some(None)
    };
    let mut import_headers = BTreeMap::new();
    if let Some(kind) = verifier {
        let ours = domain::formats::receivables_csv::COLUMNS
            .iter()
            .copied()
            .filter(|c| *c != "verifier_zip")
            .chain(kind.columns().iter().copied())
            .chain(domain::formats::receivables_csv::OPTIONAL);
        for column in ours {
            let key = p(&format!("import.{column}"));
            if let Some(header) = r.parsed(&key, Some(""), |s| {
                if s.chars().count() > 100 || s.contains(['\n', '\r']) {
                    Err("a column header is one line of at most 100 characters")
                } else {
                    Ok(s.to_owned())
                }
            }) && !header.is_empty()
            {
                import_headers.insert(column.to_owned(), header);
            }
        }
    }
    let minimum = r.parsed(&p("min_payment"), Some("1.00"), Cents::parse_dollars);
    let allow_partial = r.boolean(&p("allow_partial"), true);
    let allow_overpayment = r.boolean(&p("allow_overpayment"), false);

    let flat = r.parsed(&p("card_fee.flat"), Some("0"), Cents::parse_dollars);
    let percent = r.parsed(&p("card_fee.percent"), Some("0"), |s| {
        s.parse::<Decimal>()
            .map_err(|_| "expected a percentage like 2.5")
    });
    let fee_min = r.parsed(&p("card_fee.min"), Some("0"), Cents::parse_dollars);
    let fee_max = if r.is_set(&p("card_fee.max")) {
        r.parsed(&p("card_fee.max"), None, Cents::parse_dollars)
            .map(Some)
    } else {
        Some(None)
    };
    let card_fee = match (flat, percent, fee_min, fee_max) {
        (Some(flat), Some(pct), Some(min), Some(max)) => match FeeRule::new(flat, pct, min, max) {
            Ok(rule) => Some(rule),
            Err(e) => {
                r.error(&p("card_fee"), e);
                None
            }
        },
        _ => None,
    };
    let refund_threshold = r.parsed(
        &p("refund_approval_threshold"),
        Some("100.00"),
        Cents::parse_dollars,
    );
    let licences = if r.is_set(&p("licences")) {
        read_licences(r, &p("licences"))
    } else {
        Some(None)
    };
    let link_proof = r.parsed(
        &p("link_proof"),
        Some("verifier_and_last_bill"),
        |s| match s {
            "verifier" => Ok(LinkProof::Verifier),
            "verifier_and_last_bill" => Ok(LinkProof::VerifierAndLastBill),
            _ => Err("expected \"verifier\" or \"verifier_and_last_bill\""),
        },
    );
    let mut code = |what: &str| r.parsed(&p(&format!("ledger.{what}")), None, AccountCode::parse);
    let cash_clearing = code("cash_clearing");
    let receivable = code("receivable");
    let fee_income = code("fee_income");

    Some(Department {
        id: id?,
        name: name?,
        summary,
        lookup_label,
        lookup_hint,
        spanish,
        verifier: verifier?,
        account_format: account_format?,
        import_headers,
        rules: AmountRules {
            minimum: minimum?,
            allow_partial,
            allow_overpayment,
        },
        card_fee: card_fee?,
        ledger: LedgerAccounts {
            cash_clearing: cash_clearing?,
            receivable: receivable?,
            fee_income: fee_income?,
        },
        refund_approval_threshold: refund_threshold?,
        licences: licences?,
        link_proof: link_proof?,
    })
}

/// Amounts in a fee schedule: dollars and cents, not negative, up to the
/// input ceiling.
fn amount(r: &mut Reader, path: &str, default: Option<&str>) -> Option<Cents> {
    r.parsed(path, default, Cents::parse_dollars)
}

fn decimal(
    r: &mut Reader,
    path: &str,
    default: Option<&str>,
    what: &'static str,
) -> Option<Decimal> {
    r.parsed(path, default, |s| {
        s.trim().parse::<Decimal>().map_err(|_| what)
    })
}

/// `[departments.ID.licences]`: every problem reported with its setting.
fn read_licences(r: &mut Reader, base: &str) -> Option<Option<LicenceRules>> {
    let p = |s: &str| format!("{base}.{s}");
    let window = r.integer(&p("renewal_window_days"), 60, 1, 366);
    let term = r.integer(&p("term_months"), 12, 1, 60);
    let ceiling = amount(r, &p("gross_receipts_ceiling"), Some("10000000.00"));
    let employees_ceiling = r.integer(&p("employees_ceiling"), 10_000, 1, 1_000_000);
    let late_penalty = if r.is_set(&p("late_penalty")) {
        let per_month = decimal(
            r,
            &p("late_penalty.percent_per_month"),
            None,
            "expected a percentage like 10",
        );
        let max = decimal(
            r,
            &p("late_penalty.max_percent"),
            None,
            "expected a percentage like 50",
        );
        match (per_month, max) {
            (Some(a), Some(b)) => match LatePenalty::new(a, b) {
                Ok(l) => Some(Some(l)),
                Err(e) => {
                    r.error(&p("late_penalty"), e);
                    None
                }
            },
            _ => None,
        }
    } else {
        Some(None)
    };
    let mut surcharges = Vec::new();
    let mut ok = true;
    for name in r.table_keys(&p("surcharges")) {
        match amount(r, &p(&format!("surcharges.{name}")), None) {
            Some(a) => surcharges.push(Surcharge { name, amount: a }),
            None => ok = false,
        }
    }
    let mut categories = BTreeMap::new();
    let mut category_names = BTreeMap::new();
    let keys = r.table_keys(&p("categories"));
    if keys.is_empty() {
        r.error(&p("categories"), "configure at least one licence category");
        ok = false;
    }
    for key in keys {
        let c = |s: &str| p(&format!("categories.{key}.{s}"));
        let name = r.string(&c("name"), &key);
        let name_es = r.opt_string(&c("name_es")).unwrap_or_else(|| name.clone());
        let kind = r.string(&c("fee"), "");
        let cap = |r: &mut Reader| {
            if r.is_set(&c("cap")) {
                amount(r, &c("cap"), None).map(Some)
            } else {
                Some(None)
            }
        };
        let fee = match kind.as_str() {
            "flat" => amount(r, &c("amount"), None).map(CategoryFee::Flat),
            "gross_receipts" => {
                let base_fee = amount(r, &c("base"), None);
                let threshold = amount(r, &c("threshold"), Some("0"));
                let rate = decimal(
                    r,
                    &c("rate_per_thousand"),
                    None,
                    "expected dollars per $1,000 like 0.80",
                );
                match (base_fee, threshold, rate, cap(r)) {
                    (Some(base), Some(threshold), Some(rate_per_thousand), Some(cap)) => {
                        Some(CategoryFee::GrossReceipts {
                            base,
                            threshold,
                            rate_per_thousand,
                            cap,
                        })
                    }
                    _ => None,
                }
            }
            "employees" => {
                let base_fee = amount(r, &c("base"), None);
                let included = r.integer(&c("included"), 0, 0, 100_000);
                let per = amount(r, &c("per_employee"), None);
                match (base_fee, per, cap(r)) {
                    (Some(base), Some(per_employee), Some(cap)) => Some(CategoryFee::Employees {
                        base,
                        included: u32::try_from(included).unwrap_or(0),
                        per_employee,
                        cap,
                    }),
                    _ => None,
                }
            }
            other => {
                r.error(
                    &c("fee"),
                    format!("{other:?}: expected flat, gross_receipts or employees"),
                );
                None
            }
        };
        match fee.map(|f| f.check().map(|()| f)) {
            Some(Ok(f)) => {
                categories.insert(key.clone(), f);
                category_names.insert(key, (name, name_es));
            }
            Some(Err(e)) => {
                r.error(&p(&format!("categories.{key}")), e);
                ok = false;
            }
            None => ok = false,
        }
    }
    let (Some(ceiling), Some(late_penalty), true) = (ceiling, late_penalty, ok) else {
        return None;
    };
    Some(Some(LicenceRules {
        renewal_window_days: window,
        term_months: term,
        schedule: FeeSchedule {
            categories,
            late_penalty,
            surcharges,
            gross_receipts_ceiling: ceiling,
            employees_ceiling: u32::try_from(employees_ceiling).unwrap_or(10_000),
        },
        category_names,
    }))
}
