//! The real `squirrel` binary on the ciphers of the story (tutorial steps 4
//! to 8): `squirrel caesar`, `squirrel fernet`, `squirrel dh`. Exact outputs,
//! round trips, error messages and exit codes. Interop with Python's
//! `cryptography.fernet` is in `cipher_interop.rs`.

use crate::cipher_common::*;

// ---------------------------------------------------------------- caesar

#[test]
fn caesar_follows_the_tutorial_table() {
    assert_eq!(
        ok_text(&["caesar", "encrypt", "fluffy tail"], ""),
        "ekteex szhk\n"
    );
    assert_eq!(
        ok_text(&["caesar", "encrypt", "fluffy", "tail"], ""),
        "ekteex szhk\n"
    );
    assert_eq!(ok_text(&["caesar", "encrypt", "ABC"], ""), "ZAB\n");
    assert_eq!(
        ok_text(&["caesar", "decrypt", "ekteex szhk"], ""),
        "fluffy tail\n"
    );
    // stdin is transformed as is, newline and all; case and punctuation kept.
    assert_eq!(
        ok_text(&["caesar", "encrypt", "--shift", "3"], "Fluffy Tail, 42!\n"),
        "Circcv Qxfi, 42!\n"
    );
    assert_eq!(
        ok_text(
            &["caesar", "decrypt", "--shift", "-23"],
            "Circcv Qxfi, 42!\n"
        ),
        "Fluffy Tail, 42!\n"
    );
}

#[test]
fn caesar_crack_prints_the_best_shift_and_the_runners_up() {
    let secret = "The secret message for the next meeting is fluffy tail, do not tell the spy.";
    let cipher = ok_text(&["caesar", "encrypt", "--shift", "7"], secret);
    let out = squirrel(&["caesar", "crack", "--top", "2"])
        .write_stdin(cipher)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stderr).unwrap(), "");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "Best shift: 7 (score 2.98 = chi-squared 29.76 / (1 + 9 common words))\n\
         Plaintext: The secret message for the next meeting is fluffy tail, do not tell the spy.\n\
         \n\
         Runners-up:\n  \
         shift 22  score   147.99  chi-squared   147.99  common words  0  Iwt htrgti bthhpvt udg iwt ctmi bttixcv ...\n  \
         shift 20  score   225.21  chi-squared   225.21  common words  0  Gur frperg zrffntr sbe gur arkg zrrgvat ...\n"
    );
}

#[test]
fn caesar_crack_json_and_short_texts() {
    let json: serde_json::Value =
        serde_json::from_slice(&ok(&["caesar", "crack", "--json", "ekteex szhk"], b"")).unwrap();
    assert_eq!(json["letters"], 10);
    assert_eq!(json["reliable"], false);
    assert_eq!(json["candidates"].as_array().unwrap().len(), 26);
    let out = squirrel(&["caesar", "crack", "ekteex szhk"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "squirrel: note: only 10 letters; frequency analysis needs about 40 to be trusted\n"
    );
    let err = fails(&["caesar", "crack", "42 !"], "", 1);
    assert_eq!(
        err,
        "squirrel: error: cannot crack the text\n  caused by: the text has no letters A-Z to \
         count, so there is nothing to analyse\n"
    );
    let err = fails(&["caesar", "encrypt", "--shift", "x"], "", 2);
    assert!(
        err.contains("invalid value 'x' for '--shift <SHIFT>'"),
        "{err}"
    );
}

// ---------------------------------------------------------------- fernet

#[test]
fn fernet_reproduces_and_reads_the_spec_vector() {
    let token = ok_text(
        &[
            "fernet",
            "encrypt",
            "--key",
            KEY,
            "--now",
            "499162800",
            "--iv",
            "000102030405060708090a0b0c0d0e0f",
        ],
        "hello",
    );
    assert_eq!(token, format!("{TOKEN}\n"));
    let plain = ok(
        &[
            "fernet",
            "decrypt",
            "--key",
            KEY,
            "--ttl",
            "60",
            "--now",
            "499162801",
        ],
        TOKEN.as_bytes(),
    );
    assert_eq!(plain, b"hello");
    // Hidden flags stay hidden.
    let help = ok_text(&["fernet", "encrypt", "--help"], "");
    assert!(!help.contains("--iv") && !help.contains("--now"), "{help}");
}

#[test]
fn fernet_encrypt_takes_the_message_as_arguments_and_keys_from_any_variable() {
    // As `caesar encrypt "fluffy tail"`: the words are the message.
    let token = ok(
        &["fernet", "encrypt", "--key", TUTORIAL_KEY, "fluffy", "tail"],
        b"",
    );
    let plain = ok(&["fernet", "decrypt", "--key", TUTORIAL_KEY], &token);
    assert_eq!(plain, b"fluffy tail");
    // --key-env VAR, any variable, for encrypt and decrypt alike.
    let token = squirrel(&["fernet", "encrypt", "--key-env", "CLUB_KEY", "fluffy tail"])
        .env("CLUB_KEY", TUTORIAL_KEY)
        .output()
        .unwrap();
    assert!(token.status.success());
    let plain = squirrel(&["fernet", "decrypt", "--key-env", "CLUB_KEY"])
        .env("CLUB_KEY", TUTORIAL_KEY)
        .write_stdin(token.stdout)
        .output()
        .unwrap();
    assert_eq!(plain.stdout, b"fluffy tail");
    assert_eq!(
        fails(&["fernet", "decrypt", "--key-env", "CLUB_KEY"], "x", 1),
        "squirrel: error: --key-env CLUB_KEY: the environment variable CLUB_KEY is not set; make \
         a key with `squirrel fernet genkey` and export CLUB_KEY=...\n"
    );
    let err = fails(
        &["fernet", "encrypt", "--in", "m.txt", "fluffy tail"],
        "",
        2,
    );
    assert!(err.contains("cannot be used with"), "{err}");
    // A key file given to --key: the hint names --key-file.
    let dir = scratch();
    let file = dir.path().join("club.key");
    std::fs::write(&file, format!("{TUTORIAL_KEY}\n")).unwrap();
    let err = fails(&["fernet", "encrypt", "--key", path_str(&file), "x"], "", 1);
    assert_eq!(
        err,
        format!(
            "squirrel: error: --key {0}: that is a file, not a key; give a key file with \
             --key-file {0}\n",
            file.display()
        )
    );
}

#[test]
fn fernet_genkey_prints_a_working_key() {
    let key = ok_text(&["fernet", "genkey"], "");
    assert_eq!(key.len(), 45, "{key:?}");
    assert!(key.ends_with("=\n"));
    let other = ok_text(&["fernet", "genkey"], "");
    assert_ne!(key, other);
    let token = ok(&["fernet", "encrypt", "--key", key.trim()], b"fluffy tail");
    assert!(token.starts_with(b"gAAAAA"));
    let plain = ok(&["fernet", "decrypt", "--key", key.trim()], &token);
    assert_eq!(plain, b"fluffy tail");

    let dir = scratch();
    let file = dir.path().join("secret.key");
    assert!(ok(&["fernet", "genkey", "--out", path_str(&file)], b"").is_empty());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let err = fails(&["fernet", "genkey", "--out", path_str(&file)], "", 1);
    assert_eq!(
        err,
        format!(
            "squirrel: error: --out {} already exists: keep its key, or give --force to replace \
             it\n",
            file.display()
        )
    );
    ok(
        &["fernet", "genkey", "--force", "--out", path_str(&file)],
        b"",
    );
}

#[test]
fn fernet_is_binary_safe_through_files() {
    let dir = scratch();
    let plain: Vec<u8> = (0..=255u8).cycle().take(4096 + 7).collect();
    let input = dir.path().join("plain.bin");
    let token = dir.path().join("token.txt");
    let output = dir.path().join("out.bin");
    std::fs::write(&input, &plain).unwrap();
    std::fs::write(dir.path().join("keys"), format!("# rotation\n\n{KEY}\n")).unwrap();
    let keyfile = dir.path().join("keys");
    ok(
        &[
            "fernet",
            "encrypt",
            "--key-file",
            path_str(&keyfile),
            "--in",
            path_str(&input),
            "--out",
            path_str(&token),
        ],
        b"",
    );
    ok(
        &[
            "fernet",
            "decrypt",
            "--key-file",
            path_str(&keyfile),
            "--in",
            path_str(&token),
            "--out",
            path_str(&output),
        ],
        b"",
    );
    assert_eq!(std::fs::read(&output).unwrap(), plain);
    // The plaintext is a secret: mode 0600 even under umask 000, and never
    // written over an existing file without --force.
    let again = [
        "fernet",
        "decrypt",
        "--key-file",
        path_str(&keyfile),
        "--in",
        path_str(&token),
        "--out",
        path_str(&output),
    ];
    std::fs::write(&output, b"keep me").unwrap();
    let err = fails(&again, "", 1);
    assert_eq!(
        err,
        format!(
            "squirrel: error: --out {} already exists: keep its contents, or give --force to \
             replace it\n",
            output.display()
        )
    );
    assert_eq!(std::fs::read(&output).unwrap(), b"keep me");
    let forced = std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 000 && exec \"$@\"")
        .arg("sh")
        .arg(assert_cmd::cargo::cargo_bin!("squirrel"))
        .args(&again[..])
        .arg("--force")
        .status()
        .unwrap();
    assert!(forced.success());
    assert_eq!(std::fs::read(&output).unwrap(), plain);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&output).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Empty plaintext, through stdin and stdout.
    let token = ok(&["fernet", "encrypt", "--key", KEY], b"");
    assert_eq!(token.len(), 101); // 73 bytes of token in base64, and a newline
    assert_eq!(ok(&["fernet", "decrypt", "--key", KEY], &token), b"");
}

#[test]
fn fernet_key_from_secret_key_and_rotation() {
    let old = squirrel(&["fernet", "decrypt"])
        .env("SECRET_KEY", KEY)
        .write_stdin(TOKEN)
        .output()
        .unwrap();
    assert_eq!(old.stdout, b"hello");
    // Several keys in SECRET_KEY, new first.
    let both = format!("{TUTORIAL_KEY},{KEY}");
    let out = squirrel(&["fernet", "decrypt"])
        .env("SECRET_KEY", &both)
        .write_stdin(TOKEN)
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"hello");
    // --key repeated: the first encrypts, all decrypt.
    let token = ok(
        &["fernet", "encrypt", "--key", TUTORIAL_KEY, "--key", KEY],
        b"new",
    );
    assert_eq!(
        ok(&["fernet", "decrypt", "--key", TUTORIAL_KEY], &token),
        b"new"
    );
    assert_eq!(
        ok(
            &["fernet", "decrypt", "--key", KEY, "--key", TUTORIAL_KEY],
            &token
        ),
        b"new"
    );
    // rotate: every token under the first key, timestamps kept.
    let input = format!("{TOKEN}\n\n{}", String::from_utf8(token).unwrap());
    let rotated = ok_text(
        &["fernet", "rotate", "--key", TUTORIAL_KEY, "--key", KEY],
        &input,
    );
    let lines: Vec<&str> = rotated.lines().collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        ok(
            &["fernet", "decrypt", "--key", TUTORIAL_KEY],
            lines[0].as_bytes()
        ),
        b"hello"
    );
    assert_eq!(
        ok(
            &["fernet", "decrypt", "--key", TUTORIAL_KEY],
            lines[1].as_bytes()
        ),
        b"new"
    );
    let info: serde_json::Value =
        serde_json::from_slice(&ok(&["fernet", "inspect", "--json"], lines[0].as_bytes())).unwrap();
    assert_eq!(info["timestamp"], TOKEN_TIME);
    let err = fails(&["fernet", "decrypt", "--key", KEY], lines[0], 1);
    assert!(err.contains("the HMAC does not match the key"), "{err}");
    let err = fails(&["fernet", "rotate", "--key", TUTORIAL_KEY], &input, 1);
    assert_eq!(
        err,
        "squirrel: error: cannot rotate the token on line 1 of stdin: invalid token: the HMAC \
         does not match the key; the token was made with another key, or was changed on the \
         way; nothing was written\n"
    );
}

#[test]
fn fernet_inspect_shows_what_the_spy_sees() {
    let expected = format!(
        "version:     0x80\n\
         timestamp:   499162800 (Unix time, in clear)\n\
         IV:          000102030405060708090a0b0c0d0e0f\n\
         ciphertext:  16 bytes (the message, padded to 16-byte blocks: unreadable without the \
         key)\n\
         HMAC-SHA256: {}\n",
        hmac_of_token()
    );
    assert_eq!(ok_text(&["fernet", "inspect"], TOKEN), expected);
}

/// The last 32 bytes of the spec token, hex, computed here with Python so
/// the test does not trust the code under test.
fn hmac_of_token() -> String {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            &format!("import base64;print(base64.urlsafe_b64decode('{TOKEN}')[-32:].hex())"),
        ])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Every way a token can be wrong is refused with its reason and exit 1.
#[test]
fn fernet_refuses_invalid_tokens_with_the_reason() {
    let vectors: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fernet_vectors("invalid.json")).unwrap())
            .unwrap();
    let expect = |desc: &str| -> &str {
        match desc {
            "incorrect mac" => "the HMAC does not match the key",
            "too short" => "it is too short, 40 bytes once decoded",
            "invalid base64" => "it is not URL-safe base64 (character '%' at position 0",
            "payload size not multiple of block size" => "its ciphertext is 15 bytes",
            "payload padding error" | "incorrect IV (causes padding error)" => "bad PKCS7 padding",
            "far-future TS (unacceptable clock skew)" => "s in the future",
            "expired TTL" => "it has expired; it was made at 499162801 (Unix time), 90 s before",
            other => panic!("new vector {other}"),
        }
    };
    for v in vectors.as_array().unwrap() {
        let now = match v["desc"].as_str().unwrap() {
            "expired TTL" => "499162891",
            _ => "499162801",
        };
        let err = fails(
            &[
                "fernet",
                "decrypt",
                "--key",
                v["secret"].as_str().unwrap(),
                "--ttl",
                "60",
                "--now",
                now,
            ],
            v["token"].as_str().unwrap(),
            1,
        );
        let reason = expect(v["desc"].as_str().unwrap());
        assert!(
            err.starts_with(
                "squirrel: error: cannot decrypt the token from stdin: invalid token: "
            ) && err.contains(reason),
            "{}: {err}",
            v["desc"]
        );
    }
    let err = fails(&["fernet", "decrypt", "--key", KEY], "hAAAAAAdwJ6w", 1);
    assert_eq!(
        err,
        "squirrel: error: cannot decrypt the token from stdin: invalid token: its version byte \
         is 0x84, but Fernet tokens start with 0x80 (\"gAAAAA\" in base64)\n"
    );
    let err = fails(&["fernet", "decrypt", "--key", KEY], "", 1);
    assert_eq!(
        err,
        "squirrel: error: cannot decrypt the token from stdin: invalid token: it is empty\n"
    );
    let err = fails(
        &["fernet", "decrypt", "--key", KEY],
        &format!("{TOKEN}\n{TOKEN}\n"),
        1,
    );
    assert!(err.contains("stdin holds more than one word"), "{err}");
    // Without --ttl the age is not checked, as in Python.
    assert_eq!(
        ok(&["fernet", "decrypt", "--key", KEY], TOKEN.as_bytes()),
        b"hello"
    );
    // --now means nothing without --ttl: a usage error.
    let err = fails(&["fernet", "decrypt", "--key", KEY, "--now", "1"], TOKEN, 2);
    assert!(err.contains("--ttl <SECONDS>"), "{err}");
}

#[test]
fn fernet_refuses_bad_keys_with_the_fix() {
    let short = "A".repeat(52) + "=";
    let err = fails(
        &["fernet", "decrypt", "--key", KEY, "--key", &short],
        TOKEN,
        1,
    );
    assert_eq!(
        err,
        "squirrel: error: --key #2: the key is not URL-safe base64 (53 characters, where padded \
         base64 comes in groups of 4, ending in '=' or '==' when needed): a Fernet key is 44 \
         characters of A-Z, a-z, 0-9, '-' and '_' ending in '=', as printed by `squirrel fernet \
         genkey`\n"
    );
    let err = fails(&["fernet", "encrypt", "--key", "AAAA"], "x", 1);
    assert_eq!(
        err,
        "squirrel: error: --key #1: the key decodes to 3 bytes, but a Fernet key is exactly 32 \
         (16 to sign with HMAC-SHA256, 16 to encrypt with AES-128): make one with `squirrel \
         fernet genkey`\n"
    );
    let err = fails(&["fernet", "encrypt"], "x", 1);
    assert_eq!(
        err,
        "squirrel: error: no key: give --key KEY, --key-file FILE or --key-env VAR, or set SECRET_KEY; make a \
         key with `squirrel fernet genkey`\n"
    );
    let out = squirrel(&["fernet", "encrypt"])
        .env("SECRET_KEY", "nope")
        .write_stdin("x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .starts_with("squirrel: error: SECRET_KEY: the key decodes to 3 bytes"));
    let dir = scratch();
    let empty = dir.path().join("empty.key");
    std::fs::write(&empty, "# nothing\n").unwrap();
    let err = fails(
        &["fernet", "encrypt", "--key-file", path_str(&empty)],
        "x",
        1,
    );
    assert_eq!(
        err,
        format!(
            "squirrel: error: --key-file {} holds no key: write one key per line, as printed by \
             `squirrel fernet genkey`\n",
            empty.display()
        )
    );
    let missing = dir.path().join("missing.key");
    let err = fails(
        &["fernet", "encrypt", "--key-file", path_str(&missing)],
        "x",
        1,
    );
    assert!(
        err.starts_with(&format!(
            "squirrel: error: cannot read --key-file {}\n  caused by: ",
            missing.display()
        )),
        "{err}"
    );
    let err = fails(
        &[
            "fernet",
            "encrypt",
            "--key",
            KEY,
            "--in",
            path_str(&missing),
        ],
        "",
        1,
    );
    assert!(
        err.starts_with(&format!(
            "squirrel: error: cannot read --in {}\n",
            missing.display()
        )),
        "{err}"
    );
    let err = fails(
        &[
            "fernet", "encrypt", "--key", KEY, "--now", "1", "--iv", "00ff",
        ],
        "x",
        1,
    );
    assert_eq!(
        err,
        "squirrel: error: --iv \"00ff\": an IV is 16 bytes written as 32 hex digits\n"
    );
}

// ---------------------------------------------------------------- dh

#[test]
fn dh_tells_the_toy_exchange_exactly() {
    let out = ok_text(&["dh", "--you-private", "4", "--squirrel-private", "3"], "");
    let toy: String = out.split("\n2. ").next().unwrap().to_string();
    assert_eq!(
        toy,
        "Diffie-Hellman: the tutorial's mixing of colours, with real numbers (step 8)\n\
         \n\
         1. A toy exchange, small enough to follow by hand\n   \
         Public colour, agreed in the open: p = 23, g = 5  [public: the spy sees it]\n   \
         You pick a private colour:         a = 4  [private: never leaves you]\n   \
         The squirrel picks one:            b = 3  [private: never leaves the squirrel]\n   \
         You send your mixture:             A = g^a mod p = 5^4 mod 23 = 4  [public: the spy sees it]\n   \
         The squirrel sends its mixture:    B = g^b mod p = 5^3 mod 23 = 10  [public: the spy sees it]\n   \
         You mix in your private colour:    B^a mod p = 10^4 mod 23 = 18  [computed on each side, never sent]\n   \
         The squirrel mixes in its own:     A^b mod p = 4^3 mod 23 = 18  [computed on each side, never sent]\n   \
         Same final colour on both sides: 18\n   \
         The spy has only p, g, A and B. With p this small it tries every exponent:\n   \
         5^4 mod 23 = 4 = A after 4 tries, so it mixes B^4 mod 23 = 18 too.\n   \
         Real exchanges use numbers of 255 bits or more, where that search never ends.\n"
    );
    assert!(out.contains("   Equal: yes\n"), "{out}");
    assert!(
        out.contains(
            "You decrypt it:                    \"fluffy tail\"  [private: never leaves you]\n"
        ),
        "{out}"
    );
}

#[test]
fn dh_json_groups_values_by_who_sees_them() {
    let json: serde_json::Value = serde_json::from_slice(&ok(
        &[
            "dh",
            "--json",
            "-p",
            "9973",
            "-g",
            "11",
            "--message",
            "acorns at noon",
        ],
        b"",
    ))
    .unwrap();
    let toy = &json["toy"];
    assert_eq!(toy["public"]["p"], 9973);
    assert_eq!(toy["you"]["shared"], toy["squirrel"]["shared"]);
    assert_eq!(toy["spy"]["shared"], toy["you"]["shared"]);
    let real = &json["x25519"];
    assert_eq!(
        real["you"]["shared_secret"],
        real["squirrel"]["shared_secret"]
    );
    assert_eq!(real["you"]["fernet_key"], real["squirrel"]["fernet_key"]);
    assert_eq!(real["you"]["message"], "acorns at noon");
    assert_eq!(real["public"]["you_public_key"].as_str().unwrap().len(), 64);
    assert!(real["public"].get("shared_secret").is_none());
    // The token the spy sees opens with the key only the two sides derived.
    let token = real["public"]["token"].as_str().unwrap();
    let key = real["you"]["fernet_key"].as_str().unwrap();
    assert_eq!(
        ok(&["fernet", "decrypt", "--key", key], token.as_bytes()),
        b"acorns at noon"
    );
}

#[test]
fn dh_refuses_bad_toy_numbers() {
    let err = fails(&["dh", "-p", "21"], "", 1);
    assert_eq!(
        err,
        "squirrel: error: --prime: p = 21 is not a prime between 5 and 1000000: the toy \
         exchange needs a small prime modulus, such as 23\n"
    );
    let err = fails(&["dh", "--squirrel-private", "22"], "", 1);
    assert_eq!(
        err,
        "squirrel: error: --squirrel-private: the private number 22 of the squirrel must be \
         between 2 and p - 2 = 21\n"
    );
}

#[test]
fn a_key_that_starts_with_a_dash_is_still_a_key() {
    // URL-safe base64 may begin with '-': such a key must not read as a flag.
    let key = "-7W7e8mnidOk0cTV6o3aOiurBDsKINyRr-FwM1Epx2I=";
    let token = ok(&["fernet", "encrypt", "--key", key], b"fluffy tail");
    assert!(token.starts_with(b"gAAAAA"));
    assert_eq!(
        ok(&["fernet", "decrypt", "--key", key], &token),
        b"fluffy tail"
    );
}
