//! The receivables file parser on arbitrary bytes: never panics, never
//! accepts a negative amount or a row without every field.
#![no_main]

use domain::formats::receivables_csv::ReceivablesCsv;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = b"account_number,verifier_zip,name,service_address,bill_period,amount_due,due_date,bill_reference\n".to_vec();
    input.extend_from_slice(data);
    for source in [data, &input[..]] {
        if let Ok(mut csv) = ReceivablesCsv::new(source) {
            while let Some(row) = csv.next_row() {
                match row {
                    Ok(r) => {
                        assert!(r.amount_due.get() >= 0);
                        assert!(!r.reference.as_str().is_empty());
                        assert!(r.period.start() <= r.period.end());
                    }
                    Err(errors) => assert!(!errors.is_empty()),
                }
            }
        }
    }
});
