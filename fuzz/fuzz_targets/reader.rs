//! The YAML layer: whatever it accepts, it writes back as text it reads again to the same
//! values (`to_json`), and writing that again changes nothing.
#![no_main]

use envpolicy::yaml::{emit_stream, parse_stream};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(docs) = parse_stream(text) else {
        return;
    };
    let emitted = emit_stream(&docs);
    let again = match parse_stream(&emitted) {
        Ok(again) => again,
        Err(e) => {
            panic!("emitted text does not parse: {e}\n--- input\n{text}\n--- emitted\n{emitted}")
        }
    };
    assert_eq!(
        docs.len(),
        again.len(),
        "document count changed\n--- input\n{text}\n--- emitted\n{emitted}"
    );
    for (a, b) in docs.iter().zip(&again) {
        let (a, b) = (a.to_json(), b.to_json());
        assert!(
            a == b,
            "value changed: {a} became {b}\n--- input\n{text}\n--- emitted\n{emitted}"
        );
    }
    let twice = emit_stream(&again);
    assert!(
        twice == emitted,
        "emitting is not stable\n--- first\n{emitted}\n--- second\n{twice}"
    );
});
