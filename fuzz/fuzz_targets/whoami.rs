//! Arbitrary Hub answers: the whoami-v2 body parser, the Retry-After parser
//! and the endpoint parser return a value or an error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(who) = hfleaks::verify::whoami::parse(&text) {
        let _ = hfleaks::verify::whoami::write_access(who.token.as_ref());
    }
    let _ = hfleaks::verify::client::retry_after(&text);
    if let Ok(endpoint) = hfleaks::verify::client::Endpoint::parse(&text) {
        let _ = endpoint.same_origin(&text);
    }
});
