//! Interoperability: a JWS signed by an independent implementation (Python's
//! `cryptography`, the library under certbot) must verify here, and both
//! sides must compute the same RFC 7638 thumbprint; otherwise a real client
//! could not create an account or answer a challenge (RFC 8555 §6.2, §8.1).
//!
//! The Python side converts the DER ECDSA signature to the fixed-size
//! `r || s` JWS uses (RFC 7518 §3.4), exactly as ACME clients must.

use std::process::Command;

use squirrel_acme::{Algorithm, ExternalBinding, Jws, KeyRef};

const SCRIPT: &str = r#"
import base64, hashlib, hmac, json
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

key = ec.generate_private_key(ec.SECP256R1())
numbers = key.public_key().public_numbers()
jwk = {
    "kty": "EC",
    "crv": "P-256",
    "x": b64u(numbers.x.to_bytes(32, "big")),
    "y": b64u(numbers.y.to_bytes(32, "big")),
}
canonical = '{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}' % (jwk["x"], jwk["y"])
thumbprint = b64u(hashlib.sha256(canonical.encode()).digest())

def sign(payload):
    header = {"alg": "ES256", "jwk": jwk, "nonce": "bm9uY2Utb2YtdGhlLXNlcnZlcg",
              "url": "https://ca.example/acme/new-account"}
    protected = b64u(json.dumps(header).encode())
    body = b64u(payload)
    der = key.sign((protected + "." + body).encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return {"protected": protected, "payload": body,
            "signature": b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))}

def eab(kid, hmac_key):
    protected = b64u(json.dumps({"alg": "HS256", "kid": kid,
                                 "url": "https://ca.example/acme/new-account"}).encode())
    payload = b64u(json.dumps(jwk).encode())
    mac = hmac.new(hmac_key, (protected + "." + payload).encode(), hashlib.sha256).digest()
    return {"protected": protected, "payload": payload, "signature": b64u(mac)}

print(json.dumps({
    "thumbprint": thumbprint,
    "eab": eab("alice", b"the leader's key for alice"),
    "jws": sign(json.dumps({"termsOfServiceAgreed": True}).encode()),
    "post_as_get": sign(b""),
}))
"#;

/// Python's JWS. python3 with `cryptography` is on every machine of this
/// project (scripts/test.sh installs it): without them this test fails,
/// it does not pass unseen.
fn python_jws() -> serde_json::Value {
    let output = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .output()
        .expect("python3 runs (scripts/test.sh installs python3 and cryptography)");
    assert!(
        output.status.success(),
        "the Python signer failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the Python signer prints JSON")
}

#[test]
fn verifies_a_jws_signed_by_python_cryptography() {
    let out = python_jws();

    let jws = Jws::parse(out["jws"].to_string().as_bytes()).expect("parses");
    assert_eq!(jws.header().alg, Algorithm::Es256);
    let KeyRef::Jwk(key) = &jws.header().key else {
        panic!("the header carries a jwk")
    };
    assert_eq!(key.thumbprint(), out["thumbprint"].as_str().unwrap());
    let payload = jws.verify().expect("Python's signature verifies");
    let payload: serde_json::Value = serde_json::from_slice(payload).unwrap();
    assert_eq!(payload, serde_json::json!({"termsOfServiceAgreed": true}));
    jws.check_url("https://ca.example/acme/new-account")
        .expect("url");

    // The external account binding, as certbot's library computes it.
    let eab = ExternalBinding::parse(&out["eab"]).expect("parses");
    assert_eq!(eab.key_id, "alice");
    eab.verify(
        b"the leader's key for alice",
        key,
        "https://ca.example/acme/new-account",
    )
    .expect("Python's HMAC verifies");
    assert!(eab
        .verify(b"another key", key, "https://ca.example/acme/new-account")
        .is_err());

    let get = Jws::parse(out["post_as_get"].to_string().as_bytes()).expect("parses");
    assert_eq!(get.verify(), Ok(&b""[..]));
}
