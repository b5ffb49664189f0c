//! Fernet tokens interoperate both ways with Python's `cryptography.fernet`
//! (the library of the tutorial's steps 6 and 7): empty, block-sized, binary
//! and large plaintexts, the TTL and clock-skew edges, and key rotation with
//! `MultiFernet`. Every test runs the real binary and real `python3`.

use crate::cipher_common::*;
use std::path::{Path, PathBuf};

/// Runs a Python script with arguments; asserts success; returns stdout.
fn python(script: &str, args: &[&str]) -> String {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "python failed: {}\nscript:\n{script}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The plaintexts of the issue: empty, one block, two blocks, binary, large.
fn plaintexts(dir: &Path) -> Vec<PathBuf> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let large: Vec<u8> = (0..1024 * 1024 + 3)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let binary: Vec<u8> = (0..=255u8).cycle().take(3 * 256).collect();
    let cases: [(&str, Vec<u8>); 5] = [
        ("empty", Vec::new()),
        ("block", b"0123456789abcdef".to_vec()),
        ("two-blocks", b"fluffy tail, fluffy tail, fluff!".to_vec()),
        ("binary", binary),
        ("large", large),
    ];
    cases
        .into_iter()
        .map(|(name, bytes)| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        })
        .collect()
}

#[test]
fn squirrel_tokens_open_in_python() {
    let dir = scratch();
    let key = String::from_utf8(ok(&["fernet", "genkey"], b"")).unwrap();
    let key = key.trim();
    let mut args = vec![key.to_string()];
    for plain in plaintexts(dir.path()) {
        let token = plain.with_extension("token");
        ok(
            &[
                "fernet",
                "encrypt",
                "--key",
                key,
                "--in",
                path_str(&plain),
                "--out",
                path_str(&token),
            ],
            b"",
        );
        args.push(path_str(&plain).to_string());
        args.push(path_str(&token).to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = python(
        "import sys\n\
         from cryptography.fernet import Fernet\n\
         f = Fernet(sys.argv[1].encode())\n\
         for plain, token in zip(sys.argv[2::2], sys.argv[3::2]):\n\
         \x20   got = f.decrypt(open(token, 'rb').read())\n\
         \x20   assert got == open(plain, 'rb').read(), plain\n\
         \x20   print(len(got))\n",
        &args,
    );
    assert_eq!(out, "0\n16\n32\n768\n1048579\n");
}

#[test]
fn python_tokens_open_in_squirrel() {
    let dir = scratch();
    let plains = plaintexts(dir.path());
    let mut args = Vec::new();
    for plain in &plains {
        args.push(path_str(plain).to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let key = python(
        "import sys\n\
         from cryptography.fernet import Fernet\n\
         key = Fernet.generate_key()\n\
         f = Fernet(key)\n\
         for plain in sys.argv[1:]:\n\
         \x20   open(plain + '.token', 'wb').write(f.encrypt(open(plain, 'rb').read()))\n\
         print(key.decode())\n",
        &args,
    );
    for plain in &plains {
        let token = format!("{}.token", plain.display());
        let out = plain.with_extension("out");
        ok(
            &[
                "fernet",
                "decrypt",
                "--key",
                key.trim(),
                "--in",
                &token,
                "--out",
                path_str(&out),
            ],
            b"",
        );
        assert_eq!(
            std::fs::read(&out).unwrap(),
            std::fs::read(plain).unwrap(),
            "{plain:?}"
        );
    }
}

/// Python's `decrypt_at_time(token, ttl, now)` and squirrel's `--ttl --now`
/// agree at every edge: 60 s old is fine, 61 s is expired; 60 s in the
/// future is fine, 61 s is refused.
#[test]
fn ttl_and_clock_skew_edges_agree_with_python() {
    const T: u64 = 1_700_000_000;
    let ours = String::from_utf8(ok(
        &["fernet", "encrypt", "--key", KEY, "--now", &T.to_string()],
        b"acorns",
    ))
    .unwrap();
    let theirs = python(
        "import sys\n\
         from cryptography.fernet import Fernet\n\
         print(Fernet(sys.argv[1]).encrypt_at_time(b'acorns', int(sys.argv[2])).decode())\n",
        &[KEY, &T.to_string()],
    );
    let edges = [
        (T + 60, true),
        (T + 61, false),
        (T - 60, true),
        (T - 61, false),
    ];
    for token in [ours.trim(), theirs.trim()] {
        for (now, accepted) in edges {
            let python_verdict = python(
                "import sys\n\
                 from cryptography.fernet import Fernet, InvalidToken\n\
                 try:\n\
                 \x20   Fernet(sys.argv[1]).decrypt_at_time(sys.argv[2], 60, int(sys.argv[3]))\n\
                 \x20   print('ok')\n\
                 except InvalidToken:\n\
                 \x20   print('invalid')\n",
                &[KEY, token, &now.to_string()],
            );
            assert_eq!(
                python_verdict.trim(),
                if accepted { "ok" } else { "invalid" }
            );
            let args = [
                "fernet",
                "decrypt",
                "--key",
                KEY,
                "--ttl",
                "60",
                "--now",
                &now.to_string(),
            ];
            if accepted {
                assert_eq!(ok(&args, token.as_bytes()), b"acorns");
            } else {
                let err = fails(&args, token, 1);
                assert!(
                    err.contains("expired") || err.contains("in the future"),
                    "{err}"
                );
            }
        }
    }
}

/// Key rotation: squirrel's repeated `--key` and `rotate` against Python's
/// `MultiFernet`, both ways, timestamps kept.
#[test]
fn rotation_agrees_with_multifernet() {
    let new = TUTORIAL_KEY;
    let old = KEY;
    // squirrel rotates the spec token (old key); Python reads it with the new key only.
    let rotated = String::from_utf8(ok(
        &["fernet", "rotate", "--key", new, "--key", old],
        TOKEN.as_bytes(),
    ))
    .unwrap();
    let out = python(
        "import sys\n\
         from cryptography.fernet import Fernet\n\
         f = Fernet(sys.argv[1])\n\
         print(f.decrypt(sys.argv[2]).decode(), f.extract_timestamp(sys.argv[2]))\n",
        &[new, rotated.trim()],
    );
    assert_eq!(out, format!("hello {TOKEN_TIME}\n"));
    // Python's MultiFernet rotates; squirrel reads it with the new key only.
    let theirs = python(
        "import sys\n\
         from cryptography.fernet import Fernet, MultiFernet\n\
         m = MultiFernet([Fernet(sys.argv[1]), Fernet(sys.argv[2])])\n\
         print(m.rotate(sys.argv[3]).decode())\n",
        &[new, old, TOKEN],
    );
    assert_eq!(
        ok(
            &["fernet", "decrypt", "--key", new],
            theirs.trim().as_bytes()
        ),
        b"hello"
    );
    let info: serde_json::Value = serde_json::from_slice(&ok(
        &["fernet", "inspect", "--json"],
        theirs.trim().as_bytes(),
    ))
    .unwrap();
    assert_eq!(info["timestamp"], TOKEN_TIME);
    // squirrel encrypts with the first of two keys; MultiFernet with the keys swapped reads it.
    let token = String::from_utf8(ok(
        &["fernet", "encrypt", "--key", new, "--key", old],
        b"swap",
    ))
    .unwrap();
    let out = python(
        "import sys\n\
         from cryptography.fernet import Fernet, MultiFernet\n\
         print(MultiFernet([Fernet(sys.argv[1]), Fernet(sys.argv[2])]).decrypt(sys.argv[3]).decode())\n\
         try:\n\
         \x20   Fernet(sys.argv[1]).decrypt(sys.argv[3])\n\
         except Exception as e:\n\
         \x20   print(type(e).__name__)\n",
        &[old, new, token.trim()],
    );
    assert_eq!(out, "swap\nInvalidToken\n");
}
