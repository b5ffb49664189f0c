//! Chains from anywhere: `verify::verify`, with squirrel's strict rules
//! (`strict::anchor`, `issuer`, `leaf`), never panics, whatever the
//! certificates hold. The input is a list of DER certificates, each
//! preceded by its length on two bytes (big-endian): the first is the
//! trust anchor, the last the leaf, those between intermediates.
#![no_main]

use libfuzzer_sys::fuzz_target;
use squirrel_pki::verify::{verify, AnchorPolicy, Purpose, Verification};

fuzz_target!(|data: &[u8]| {
    let mut certs = Vec::new();
    let mut rest = data;
    while rest.len() >= 2 && certs.len() < 6 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        certs.push(rest[2..2 + len].to_vec());
        rest = &rest[2 + len..];
    }
    if certs.len() < 2 {
        return;
    }
    let leaf = certs.pop().unwrap_or_default();
    let anchors = vec![certs.remove(0)];
    for (policy, purpose) in [
        (AnchorPolicy::Strict, Purpose::Server),
        (AnchorPolicy::AcceptLegacy, Purpose::Client),
        (AnchorPolicy::System, Purpose::Server),
    ] {
        let _ = verify(&Verification {
            hostname: Some("localhost"),
            purpose,
            max_depth: Some(2),
            anchor_policy: policy,
            ..Verification::new(&anchors, &certs, &leaf)
        });
    }
});
