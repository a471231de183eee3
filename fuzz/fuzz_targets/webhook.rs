//! Webhook signature checking and event parsing on arbitrary input: a
//! forged or garbled delivery is refused, never accepted, never a panic.
#![no_main]

use app::processor::sandbox::signature;
use app::processor::sandbox::wire::Event;
use libfuzzer_sys::fuzz_target;

const SECRET: &[u8] = b"whsec_fuzzing_secret_value";

fuzz_target!(|data: &[u8]| {
    // Split the input into a header and a body.
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let header = String::from_utf8_lossy(&data[..split]);
    let body = &data[(split + 1).min(data.len())..];
    // Nothing the fuzzer writes can carry a valid signature for our secret.
    assert!(signature::verify(Some(&header), &[SECRET], body, 1_700_000_000).is_err());
    // A correctly signed body still has to parse.
    let good = signature::sign(&[SECRET], 1_700_000_000, body);
    assert!(signature::verify(Some(&good), &[SECRET], body, 1_700_000_000).is_ok());
    if let Ok(event) = serde_json::from_slice::<Event>(body) {
        let _ = event.data.checkout.to_status();
    }
});
