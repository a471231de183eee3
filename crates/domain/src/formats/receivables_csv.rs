//! The receivables file a billing system sends: one bill per row.
//!
//! ```text
//! account_number,verifier_zip,name,service_address,bill_period,amount_due,due_date,bill_reference
//! 1002-3345,94110,Maria Lopez,"12 Elm St, Springfield",2026-10-01/2026-10-31,84.12,2026-11-30,UT-2026-10-0001
//! ```
//! Columns may come in any order; names are matched case-insensitively.
//! The verifier column is the department's kind: `verifier_zip`,
//! `verifier_pin`, `verifier_name`, or `verifier_plate` and
//! `verifier_state`; a department with a number format checks every
//! account number against it. A department may name the columns as its
//! own system writes them (`headers`): then problems are reported under
//! those names.
//! Two columns are optional: `description` (what the bill is for, e.g. a
//! permit's "Plan check fee", printed beside it) and `pay_separately`
//! (`yes`/`no`, default `yes`: `no` marks a fee line that can only be paid
//! together with the account's other open bills).
//! The reader streams: it holds one row at a time plus the set of bill
//! references already seen (to report duplicates).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Read;

use jiff::civil::Date;

use crate::money::Cents;
use crate::personal::{PersonName, PostalAddress};
use crate::receivable::{AccountNumber, BillPeriod, BillReference, parse_iso_date};
use crate::verifier::{NumberFormat, Verifier, VerifierKind};

/// The columns of a utilities file (ZIP verifier).
pub const COLUMNS: [&str; 8] = [
    "account_number",
    "verifier_zip",
    "name",
    "service_address",
    "bill_period",
    "amount_due",
    "due_date",
    "bill_reference",
];

const ACCOUNT: usize = 0;
const VERIFIER: usize = 1;
const NAME: usize = 2;
const ADDRESS: usize = 3;
const PERIOD: usize = 4;
const AMOUNT: usize = 5;
const DUE: usize = 6;
const REFERENCE: usize = 7;
/// The second verifier column (the plate's state), where the kind has one.
const VERIFIER_2: usize = 8;

/// Columns a file may have or leave out.
pub const OPTIONAL: [&str; 2] = ["description", "pay_separately"];
const DESCRIPTION: usize = 0;
const SEPARATELY: usize = 1;
/// The longest description kept.
pub const DESCRIPTION_MAX: usize = 120;

/// One valid row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivableRow {
    pub line: u64,
    pub account_number: AccountNumber,
    pub verifier: Verifier,
    pub name: PersonName,
    pub service_address: PostalAddress,
    pub period: BillPeriod,
    pub amount_due: Cents,
    pub due_date: Date,
    pub reference: BillReference,
    /// What the bill is for, when the file says.
    pub description: Option<String>,
    /// `false`: paid only together with the account's other open bills.
    pub pay_separately: bool,
}

/// One problem, with where it is. The message never repeats the field's
/// value for personal-data columns, so a report can be pasted in a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub column: Option<String>,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(c) => write!(f, "line {}, column {c}: {}", self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

pub struct ReceivablesCsv<R: Read> {
    reader: csv::Reader<R>,
    kind: VerifierKind,
    format: Option<NumberFormat>,
    /// The expected header names, in the order of the constants above.
    columns: Vec<String>,
    /// Position of each of `columns` in the file.
    positions: Vec<usize>,
    /// The file's names for the optional columns, and where they are.
    optional: [(String, Option<usize>); 2],
    width: usize,
    seen: HashMap<String, u64>,
    record: csv::ByteRecord,
}

impl<R: Read> ReceivablesCsv<R> {
    /// Reads and checks the header row of a utilities file.
    pub fn new(input: R) -> Result<Self, Vec<RowError>> {
        Self::for_department(input, VerifierKind::Zip, None, &BTreeMap::new())
    }

    /// Reads and checks the header row of a department's file.
    pub fn for_department(
        input: R,
        kind: VerifierKind,
        format: Option<NumberFormat>,
        headers: &BTreeMap<String, String>,
    ) -> Result<Self, Vec<RowError>> {
        let mut ours: Vec<&'static str> = COLUMNS.to_vec();
        ours[VERIFIER] = kind.columns()[0];
        ours.extend(kind.columns().iter().skip(1));
        // The file's name for each of our columns (compared without case).
        let columns: Vec<String> = ours
            .iter()
            .map(|c| {
                headers
                    .get(*c)
                    .map(|h| h.trim().to_owned())
                    .unwrap_or_else(|| (*c).to_owned())
            })
            .collect();
        let wanted: Vec<String> = columns.iter().map(|c| c.to_lowercase()).collect();
        let mut optional: [(String, Option<usize>); 2] = OPTIONAL.map(|c| {
            (
                headers
                    .get(c)
                    .map(|h| h.trim().to_owned())
                    .unwrap_or_else(|| c.to_owned()),
                None,
            )
        });
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(input);
        let mut header = csv::ByteRecord::new();
        let got = reader.read_byte_record(&mut header).map_err(|e| {
            vec![RowError {
                line: 1,
                column: None,
                message: format!("cannot read the header row: {}", csv_error_text(&e)),
            }]
        })?;
        if !got {
            return Err(vec![RowError {
                line: 1,
                column: None,
                message: "the file is empty; expected a header row".into(),
            }]);
        }
        let mut errors = Vec::new();
        let mut positions = vec![usize::MAX; columns.len()];
        let columns_shown: Vec<&str> = columns.iter().map(String::as_str).collect();
        for (i, raw) in header.iter().enumerate() {
            let raw = if i == 0 {
                raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw)
            } else {
                raw
            };
            let Ok(name) = std::str::from_utf8(raw) else {
                errors.push(RowError {
                    line: 1,
                    column: None,
                    message: format!("header field {} is not valid UTF-8", i + 1),
                });
                continue;
            };
            let name = name.trim().to_lowercase();
            let twice = || RowError {
                line: 1,
                column: None,
                message: format!("column {name} appears twice"),
            };
            match wanted.iter().position(|c| *c == name) {
                Some(k) if positions[k] != usize::MAX => errors.push(twice()),
                Some(k) => positions[k] = i,
                None => match optional.iter_mut().find(|(c, _)| c.to_lowercase() == name) {
                    Some((_, Some(_))) => errors.push(twice()),
                    Some((_, at)) => *at = Some(i),
                    None => errors.push(RowError {
                        line: 1,
                        column: None,
                        message: format!(
                            "unknown column {name:?}; the columns are {} (and, optionally, {})",
                            columns_shown.join(", "),
                            optional
                                .iter()
                                .map(|(c, _)| c.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    }),
                },
            }
        }
        for (k, pos) in positions.iter().enumerate() {
            if *pos == usize::MAX {
                errors.push(RowError {
                    line: 1,
                    column: None,
                    message: format!("missing column {}", columns[k]),
                });
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ReceivablesCsv {
            reader,
            kind,
            format,
            columns,
            positions,
            optional,
            width: header.len(),
            seen: HashMap::new(),
            record: csv::ByteRecord::new(),
        })
    }

    /// The next row, or every problem found in it. `None` at end of file.
    pub fn next_row(&mut self) -> Option<Result<ReceivableRow, Vec<RowError>>> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => None,
            Ok(true) => Some(self.parse_current()),
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                // csv cannot resynchronise after a broken quote; stop here.
                Some(Err(vec![RowError {
                    line,
                    column: None,
                    message: csv_error_text(&e),
                }]))
            }
        }
    }

    fn parse_current(&mut self) -> Result<ReceivableRow, Vec<RowError>> {
        let line = self.record.position().map(|p| p.line()).unwrap_or(0);
        if self.record.len() != self.width {
            return Err(vec![RowError {
                line,
                column: None,
                message: format!(
                    "expected {} fields, found {}",
                    self.width,
                    self.record.len()
                ),
            }]);
        }
        let mut errors = Vec::new();
        let mut fields: [&str; 9] = [""; 9];
        for (k, pos) in self.positions.iter().enumerate() {
            let raw = self.record.get(*pos).unwrap_or_default();
            match std::str::from_utf8(raw) {
                Ok(s) => fields[k] = s,
                Err(e) => errors.push(RowError {
                    line,
                    column: Some(self.columns[k].clone()),
                    message: format!(
                        "malformed UTF-8 at byte {} of the field",
                        e.valid_up_to() + 1
                    ),
                }),
            }
        }
        let mut extra: [&str; 2] = [""; 2];
        for (k, (name, pos)) in self.optional.iter().enumerate() {
            let Some(pos) = pos else { continue };
            match std::str::from_utf8(self.record.get(*pos).unwrap_or_default()) {
                Ok(s) => extra[k] = s,
                Err(e) => errors.push(RowError {
                    line,
                    column: Some(name.clone()),
                    message: format!(
                        "malformed UTF-8 at byte {} of the field",
                        e.valid_up_to() + 1
                    ),
                }),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let description = extra[DESCRIPTION].trim();
        let description = if description.is_empty() {
            None
        } else if description.chars().count() > DESCRIPTION_MAX
            || description.chars().any(char::is_control)
        {
            errors.push(RowError {
                line,
                column: Some(self.optional[DESCRIPTION].0.clone()),
                message: format!(
                    "a description has at most {DESCRIPTION_MAX} characters and no control characters"
                ),
            });
            None
        } else {
            Some(description.to_owned())
        };
        let pay_separately = match extra[SEPARATELY].trim().to_ascii_lowercase().as_str() {
            "" | "yes" | "y" | "true" | "1" => true,
            "no" | "n" | "false" | "0" => false,
            other => {
                errors.push(RowError {
                    line,
                    column: Some(self.optional[SEPARATELY].0.clone()),
                    message: describe(other, "expected yes or no"),
                });
                true
            }
        };
        let columns = &self.columns;
        let mut err = |k: usize, message: String| {
            errors.push(RowError {
                line,
                column: Some(columns[k].clone()),
                message,
            })
        };
        let missing = |s: &str| s.trim().is_empty();

        let account_number = AccountNumber::parse(fields[ACCOUNT])
            .map_err(|e| err(ACCOUNT, describe(fields[ACCOUNT], &e.to_string())))
            .ok()
            .and_then(|a| match &self.format {
                Some(f) if !f.matches(a.as_str()) => {
                    err(
                        ACCOUNT,
                        describe(
                            fields[ACCOUNT],
                            &format!("not in the department's format {}", f.as_str()),
                        ),
                    );
                    None
                }
                _ => Some(a),
            });
        let verifier = Verifier::parse(self.kind, fields[VERIFIER], fields[VERIFIER_2])
            .map_err(|e| {
                // The plate's state has a column of its own.
                let k = if e == crate::verifier::VerifierError::StateMalformed {
                    VERIFIER_2
                } else {
                    VERIFIER
                };
                err(
                    k,
                    if missing(fields[k]) {
                        "missing value".into()
                    } else if self.kind == VerifierKind::Zip {
                        format!("bad ZIP code: {e}")
                    } else {
                        // A verifier is a secret of sorts: never echoed.
                        format!("bad value: {e}")
                    },
                )
            })
            .ok();
        let name = PersonName::parse(fields[NAME])
            .map_err(|e| err(NAME, personal_problem(fields[NAME], &e.to_string())))
            .ok();
        let service_address = PostalAddress::parse(fields[ADDRESS])
            .map_err(|e| err(ADDRESS, personal_problem(fields[ADDRESS], &e.to_string())))
            .ok();
        let period = BillPeriod::parse(fields[PERIOD])
            .map_err(|e| {
                err(
                    PERIOD,
                    describe(fields[PERIOD], &format!("bad period: {e}")),
                )
            })
            .ok();
        let amount_due = Cents::parse_dollars(fields[AMOUNT])
            .map_err(|e| {
                err(
                    AMOUNT,
                    describe(fields[AMOUNT], &format!("bad amount: {e}")),
                )
            })
            .ok();
        let due_date = parse_iso_date(fields[DUE])
            .map_err(|e| err(DUE, describe(fields[DUE], &format!("bad date: {e}"))))
            .ok();
        let reference = BillReference::parse(fields[REFERENCE])
            .map_err(|e| err(REFERENCE, describe(fields[REFERENCE], &e.to_string())))
            .ok();
        if let Some(r) = &reference {
            if let Some(first) = self.seen.get(r.as_str()) {
                err(
                    REFERENCE,
                    format!("duplicate bill reference {r} (first on line {first})"),
                );
            } else {
                self.seen.insert(r.as_str().to_owned(), line);
            }
        }
        match (
            account_number,
            verifier,
            name,
            service_address,
            period,
            amount_due,
            due_date,
            reference,
        ) {
            (Some(a), Some(z), Some(n), Some(s), Some(p), Some(m), Some(d), Some(r))
                if errors.is_empty() =>
            {
                Ok(ReceivableRow {
                    line,
                    account_number: a,
                    verifier: z,
                    name: n,
                    service_address: s,
                    period: p,
                    amount_due: m,
                    due_date: d,
                    reference: r,
                    description,
                    pay_separately,
                })
            }
            _ => Err(errors),
        }
    }
}

/// "missing value" for an empty field, otherwise the reason with the
/// offending (non-personal) value quoted.
fn describe(value: &str, reason: &str) -> String {
    if value.trim().is_empty() {
        "missing value".into()
    } else {
        let shown: String = value.chars().take(40).collect();
        format!("{reason} (got {shown:?})")
    }
}

/// Like [`describe`], but never echoes the value: it is personal data.
fn personal_problem(value: &str, reason: &str) -> String {
    if value.trim().is_empty() {
        "missing value".into()
    } else {
        reason.to_owned()
    }
}

fn csv_error_text(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Io(io) => format!("read error: {io}"),
        csv::ErrorKind::Utf8 { .. } => "malformed UTF-8".into(),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("expected {expected_len} fields, found {len}"),
        _ => "malformed CSV (check quoting)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn optional_columns_say_what_a_bill_is_for_and_how_it_is_paid() {
        let text = "account_number,verifier_zip,name,service_address,bill_period,amount_due,due_date,bill_reference,Description,pay_separately
A1,94110,Ana,\"1 Elm St\",2026-11-01/2026-11-30,10.00,2026-12-31,R1,Plan check fee,yes
A1,94110,Ana,\"1 Elm St\",2026-11-01/2026-11-30,10.00,2026-12-31,R2,,NO
A1,94110,Ana,\"1 Elm St\",2026-11-01/2026-11-30,10.00,2026-12-31,R3,Fee,maybe
";
        let mut r = ReceivablesCsv::new(text.as_bytes()).unwrap();
        let one = r.next_row().unwrap().unwrap();
        assert_eq!(one.description.as_deref(), Some("Plan check fee"));
        assert!(one.pay_separately);
        let two = r.next_row().unwrap().unwrap();
        assert_eq!(two.description, None);
        assert!(!two.pay_separately);
        let three = r.next_row().unwrap().unwrap_err();
        assert_eq!(
            three[0].to_string(),
            "line 4, column pay_separately: expected yes or no (got \"maybe\")"
        );
        // Without them, every bill is payable on its own.
        let plain = format!(
            "{HEADER}A1,94110,Ana,\"1 Elm St\",2026-11-01/2026-11-30,10.00,2026-12-31,R1\n"
        );
        let row = ReceivablesCsv::new(plain.as_bytes())
            .unwrap()
            .next_row()
            .unwrap()
            .unwrap();
        assert!(row.pay_separately && row.description.is_none());
        // A long description is refused; an unknown column names the
        // optional ones.
        let long = format!(
            "{}description\nA1,94110,Ana,\"1 Elm St\",2026-11-01/2026-11-30,10.00,2026-12-31,R1,{}\n",
            HEADER.trim_end().to_owned() + ",",
            "x".repeat(DESCRIPTION_MAX + 1)
        );
        let err = ReceivablesCsv::new(long.as_bytes())
            .unwrap()
            .next_row()
            .unwrap()
            .unwrap_err();
        assert!(err[0].message.contains("at most 120 characters"), "{err:?}");
        let unknown = HEADER.trim_end().to_owned() + ",notes\n";
        let errs = ReceivablesCsv::new(unknown.as_bytes()).err().unwrap();
        assert!(
            errs[0]
                .message
                .contains("(and, optionally, description, pay_separately)"),
            "{errs:?}"
        );
    }

    const HEADER: &str = "account_number,verifier_zip,name,service_address,bill_period,amount_due,due_date,bill_reference\n";

    fn parse_all(data: &[u8]) -> (Vec<ReceivableRow>, Vec<RowError>) {
        let mut rows = Vec::new();
        let mut errors = Vec::new();
        match ReceivablesCsv::new(data) {
            Err(e) => errors.extend(e),
            Ok(mut r) => {
                while let Some(row) = r.next_row() {
                    match row {
                        Ok(x) => rows.push(x),
                        Err(e) => errors.extend(e),
                    }
                }
            }
        }
        (rows, errors)
    }

    #[test]
    fn reads_good_rows() {
        let data = format!(
            "{HEADER}1002-3345,94110,Maria Lopez,\"12 Elm St, Springfield\",2026-10-01/2026-10-31,84.12,2026-11-30,UT-1\n"
        );
        let (rows, errors) = parse_all(data.as_bytes());
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(r.line, 2);
        assert_eq!(r.account_number.as_str(), "10023345");
        assert_eq!(r.amount_due, Cents::new(8412));
        assert_eq!(r.service_address.expose(), "12 Elm St, Springfield");
    }

    #[test]
    fn columns_in_any_order_with_bom() {
        let data = "\u{feff}Bill_Reference,amount_due,due_date,bill_period,service_address,name,verifier_zip,account_number\nUT-1,5,2026-11-30,2026-10-01/2026-10-31,1 A St,Al,94110,77\n";
        let (rows, errors) = parse_all(data.as_bytes());
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(rows[0].reference.as_str(), "UT-1");
    }

    #[test]
    fn every_bad_field_is_reported_with_line_and_column() {
        let data = format!(
            "{HEADER}\
             1,94110,A,1 A St,2026-10-01/2026-10-31,12.345,2026-11-30,R1\n\
             2,9411,B,1 B St,2026-10-01/2026-10-31,-3,2026-13-01,R2\n\
             3,94110,,1 C St,2026-10-01/2026-10-31,1,2026-11-30,R1\n\
             4,94110,D,1 D St,2026-10-01/2026-10-31,1\n"
        );
        let (rows, errors) = parse_all(data.as_bytes());
        assert!(rows.is_empty());
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            vec![
                "line 2, column amount_due: bad amount: an amount cannot have more than two decimal places (got \"12.345\")",
                "line 3, column verifier_zip: bad ZIP code: enter a 5-digit ZIP code, like 94110",
                "line 3, column amount_due: bad amount: the amount cannot be negative (got \"-3\")",
                "line 3, column due_date: bad date: write dates as YYYY-MM-DD, like 2026-11-30 (got \"2026-13-01\")",
                "line 4, column name: missing value",
                "line 4, column bill_reference: duplicate bill reference R1 (first on line 2)",
                "line 5: expected 8 fields, found 6",
            ]
        );
    }

    #[test]
    fn malformed_utf8_is_reported() {
        let mut data = HEADER.as_bytes().to_vec();
        data.extend_from_slice(b"1,94110,Jos\xE9,1 A St,2026-10-01/2026-10-31,5,2026-11-30,R1\n");
        let (_, errors) = parse_all(&data);
        assert_eq!(
            errors[0].to_string(),
            "line 2, column name: malformed UTF-8 at byte 4 of the field"
        );
    }

    #[test]
    fn header_problems_are_all_listed() {
        let (_, errors) = parse_all(b"account_number,zip,name,name\n");
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(shown.contains(&"line 1: column name appears twice".to_string()));
        assert!(
            shown
                .iter()
                .any(|s| s.starts_with("line 1: unknown column \"zip\""))
        );
        assert!(shown.contains(&"line 1: missing column verifier_zip".to_string()));
        assert!(shown.contains(&"line 1: missing column bill_reference".to_string()));
        let (_, errors) = parse_all(b"");
        assert_eq!(
            errors[0].message,
            "the file is empty; expected a header row"
        );
    }

    #[test]
    fn personal_values_are_not_echoed_in_errors() {
        let long_name = "Z".repeat(201);
        let data =
            format!("{HEADER}1,94110,{long_name},1 A St,2026-10-01/2026-10-31,5,2026-11-30,R1\n");
        let (_, errors) = parse_all(data.as_bytes());
        assert!(!errors[0].message.contains("ZZZ"));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut data = HEADER.as_bytes().to_vec();
            data.extend_from_slice(&body);
            let (rows, errors) = parse_all(&data);
            for r in rows { prop_assert!(r.amount_due.get() >= 0); }
            for e in errors { prop_assert!(e.line >= 1 || e.line == 0); }
        }
    }
}
