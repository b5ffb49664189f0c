//! `squirrel serve` run as a service: `--config FILE` (TOML, flags win),
//! `--check-config`, `--pid-file`, `--port` and short `--listen` forms,
//! flags over the environment, `--fernet-key-env [VAR]` in every form, the
//! passphrase flags every message recommends, and contrib/'s example.

use crate::common::{retry, Scratch};

const KEY: &str = "8jtTR9QcD-k3R09Pcd5ePgmTu_itJQt9WKQPzqjrcoM=";

/// `squirrel serve ARGS --check-config` without a terminal: (code, stdout, stderr).
fn check(s: &Scratch, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut full = vec!["serve"];
    full.extend_from_slice(args);
    full.push("--check-config");
    s.squirrel_out(&full, env)
}

/// A CA, and localhost.pem with localhost-key.pem encrypted with "key secret" (in kp).
fn https_files(s: &Scratch) {
    s.init_ca(&["--cn", "my-ca.com"]);
    s.write("kp", "key secret\n");
    s.ok(&[
        "pki",
        "issue",
        "localhost",
        "--pass-file",
        "pw",
        "--key-pass-file",
        "kp",
    ]);
}

#[test]
fn a_config_file_sets_what_flags_set_and_flags_win() {
    let s = Scratch::new();
    std::fs::create_dir(s.path("etc")).unwrap();
    s.write("etc/message.txt", "acorns at noon\n");
    s.write(
        "etc/serve.toml",
        "listen = \"127.0.0.1:5999\"\nmessage-file = \"message.txt\"\nidle-timeout = 30\n",
    );
    // Relative paths are relative to the file's folder.
    assert_eq!(
        check(&s, &["--config", "etc/serve.toml"], &[]),
        (
            0,
            "configuration OK\n  listen: 127.0.0.1:5999 (plain HTTP)\n  message: etc/message.txt (14 bytes)\n".into(),
            String::new()
        )
    );
    // Flags given on the command line win over the file.
    let (code, out, _) = check(
        &s,
        &[
            "--config",
            "etc/serve.toml",
            "--port",
            "6001",
            "--message",
            "x",
        ],
        &[],
    );
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "configuration OK\n  listen: 127.0.0.1:6001 (plain HTTP)\n  message: text (1 bytes)\n"
    );
    // Served for real: the file's secret, on the command line's address.
    let server = s.serve(&["--config", "etc/serve.toml"]);
    assert_eq!(
        s.ok(&["get", "--raw", &server.url]),
        "acorns at noon",
        "the file's message-file is served"
    );
    assert!(
        server.url.starts_with("http://127.0.0.1:"),
        "{}",
        server.url
    );
    assert_ne!(server.port, 5999, "--listen wins over the file's listen");
    let (code, _) = server.stop();
    assert_eq!(code, Some(0));
}

#[test]
fn mistakes_in_a_config_file_name_the_key_and_the_file() {
    let s = Scratch::new();
    s.write("serve.toml", "listen = \"127.0.0.1:5683\"\nlisen = \"x\"\n");
    let err = s.fails(&["serve", "--config", "serve.toml", "--check-config"], 1);
    assert!(
        err.starts_with(
            "squirrel: error: --config serve.toml line 2: unknown key `lisen`, expected one of `listen`, `port`, "
        ),
        "{err}"
    );
    assert!(
        err.ends_with(
            "; remove or rename the key: the keys are the long flags of `squirrel serve` (see squirrel serve --help)\n"
        ),
        "{err}"
    );
    let cases: &[(&str, &str)] = &[
        (
            "handshake-timeout = \"10\"\n",
            "squirrel: error: --config serve.toml line 1: invalid type: string \"10\", expected u64; write it as TOML: key = \"text\", key = 10, key = true\n",
        ),
        (
            "listen = \"127.0.0.1:1\"\nport = 2\n",
            "squirrel: error: --config serve.toml: listen and port are both set; keep one of them\n",
        ),
        (
            "cert = \"server.pem\"\n",
            "squirrel: error: --config serve.toml: cert is set without key: give --key FILE, or add key = \"...\" to serve.toml\n",
        ),
        (
            "listen = \":99999\"\n",
            "squirrel: error: --config serve.toml: listen = \":99999\": 99999 is not a port (0 to 65535)\n",
        ),
        (
            "fernet-key-env = \"https://x\"\n",
            "squirrel: error: --config serve.toml: fernet-key-env = \"https://x\" is not the name of an environment variable; give a name such as SECRET_KEY (letters, digits and '_')\n",
        ),
    ];
    for (text, want) in cases {
        s.write("serve.toml", text);
        assert_eq!(
            s.fails(&["serve", "--config", "serve.toml", "--check-config"], 1),
            *want,
            "{text}"
        );
    }
    assert_eq!(
        s.fails(&["serve", "--config", "missing.toml"], 1),
        "squirrel: error: --config missing.toml: cannot read missing.toml: No such file or directory (os error 2); check the path and its permissions\n"
    );
    // On the command line alone, the same mistakes are usage errors.
    let err = s.fails(&["serve", "--cert", "server.pem"], 2);
    assert!(
        err.starts_with(
            "error: --cert was given without --key: add --key FILE\n\nUsage: squirrel serve"
        ),
        "{err}"
    );
    let err = s.fails(&["serve", "--port", "1", "--listen", "127.0.0.1:2"], 2);
    assert!(err.contains("cannot be used with"), "{err}");
}

#[test]
fn check_config_loads_everything_and_binds_nothing() {
    let s = Scratch::new();
    https_files(&s);
    s.issue(&["alice", "--client"]);
    s.ok(&["pki", "crl", "--pass-file", "pw", "--out", "members.crl"]);
    // A port in use: --check-config does not bind it.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let tls = [
        "--cert",
        "localhost.pem",
        "--key",
        "localhost-key.pem",
        "--pass-file",
        "kp",
        "--client-ca",
        "ca/ca.pem",
        "--crl",
        "members.crl",
    ];
    let mut args = vec!["--port", port.as_str()];
    args.extend_from_slice(&tls);
    let (code, out, err) = check(&s, &args, &[]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "configuration OK");
    assert_eq!(
        lines[1],
        format!("  listen: 127.0.0.1:{port} (HTTPS, members only)")
    );
    assert!(
        lines[2].starts_with("  certificate: From ")
            && lines[2].ends_with("I am localhost (localhost) according to my-ca.com"),
        "{out}"
    );
    assert_eq!(lines[3], "  message: text (11 bytes)");
    // The same start without --check-config fails on that port.
    let mut full = vec!["serve", "--port", &port];
    full.extend_from_slice(&tls);
    assert!(s.fails(&full, 1).contains("the address is already in use"));
    // Each file is checked: the passphrase, the key against the certificate, the CRL.
    s.write("wrong", "not it\n");
    let cases: &[(&[&str], &str)] = &[
        (
            &["--pass-file", "wrong"],
            "localhost-key.pem: wrong passphrase",
        ),
        (
            &["--key", "alice-client-key.pem"],
            "does not match the certificate localhost.pem",
        ),
        (&["--crl", "kp"], "kp: "),
        (&["--client-ca", "kp"], "kp: "),
        (
            &["--listen", "nowhere:notaport"],
            "--listen \"nowhere:notaport\" is not a usable address",
        ),
        (
            &["--keylog", "no/such/folder/keys.log"],
            "the folder no/such/folder does not exist; create it or change --keylog",
        ),
        (
            &["--pid-file", "no/such/folder/squirrel.pid"],
            "the folder no/such/folder does not exist; create it or change --pid-file",
        ),
        (
            &["--message-file", "none.txt"],
            "none.txt: cannot read the message file",
        ),
    ];
    for (change, want) in cases {
        // The changed flag replaces the one in `tls`.
        let mut args: Vec<&str> = tls.to_vec();
        match args.iter().position(|a| *a == change[0]) {
            Some(at) => args[at + 1] = change[1],
            None => args.extend_from_slice(change),
        }
        let (code, out, err) = check(&s, &args, &[]);
        assert_eq!(code, 1, "{change:?}: {err}");
        assert_eq!(out, "", "{change:?}");
        assert!(
            err.starts_with("squirrel: error: ") && err.contains(want),
            "{change:?}: {err}"
        );
    }
}

#[test]
fn listen_takes_a_port_alone_and_port_is_loopback() {
    let s = Scratch::new();
    for (args, want) in [
        (&["--port", "5684"][..], "127.0.0.1:5684"),
        (&["--listen", ":5684"], "0.0.0.0:5684"),
        (&["--listen", "5684"], "0.0.0.0:5684"),
        (&["--listen", "[::1]:5684"], "[::1]:5684"),
        (&[], "127.0.0.1:5683"),
    ] {
        let (code, out, err) = check(&s, args, &[]);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert_eq!(
            out.lines().nth(1),
            Some(format!("  listen: {want} (plain HTTP)").as_str()),
            "{args:?}"
        );
    }
    let err = s.fails(&["serve", "--listen", ":99999"], 2);
    assert!(
        err.contains(
            "invalid value ':99999' for '--listen <ADDR>': 99999 is not a port (0 to 65535)"
        ),
        "{err}"
    );
}

#[test]
fn a_flag_wins_over_the_environment_and_the_environment_over_the_file() {
    let s = Scratch::new();
    s.write("m.txt", "from the file\n");
    let server = s.serve_with_env(&["--message-file", "m.txt"], &[("SECRET_MESSAGE", "env")]);
    assert_eq!(s.ok(&["get", "--raw", &server.url]), "from the file");
    drop(server);
    let env = [("SECRET_MESSAGE", "from env")];
    let message = |args: &[&str]| check(&s, args, &env).1.lines().nth(2).map(str::to_string);
    assert_eq!(
        message(&["--message", "flag"]).as_deref(),
        Some("  message: text (4 bytes)")
    );
    s.write("serve.toml", "message-file = \"m.txt\"\n");
    assert_eq!(
        message(&["--config", "serve.toml"]).as_deref(),
        Some("  message: text (8 bytes)"),
        "SECRET_MESSAGE wins over the file"
    );
    // Both flags: still a usage error.
    let err = s.fails(&["serve", "--message", "x", "--message-file", "m.txt"], 2);
    assert!(
        err.contains("the argument '--message <TEXT>' cannot be used with '--message-file <FILE>'"),
        "{err}"
    );
}

#[test]
fn the_pid_file_names_the_server_and_keeps_a_second_one_out() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::new();
    let server = s.serve(&["--pid-file", "squirrel.pid"]);
    let pid = s.read("squirrel.pid");
    assert!(
        pid.ends_with('\n') && pid.trim().parse::<u32>().is_ok(),
        "{pid:?}"
    );
    let mode = std::fs::metadata(s.path("squirrel.pid"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644);
    // The README's reload.
    let mark = server.log_mark();
    let (ok, out) = s.run("sh", &["-c", "kill -HUP $(cat squirrel.pid)"]);
    assert!(ok, "{out}");
    server.wait_for_log(mark, "reloaded");
    // A second server is refused while the first runs.
    let err = s.fails(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--pid-file",
            "squirrel.pid",
        ],
        1,
    );
    let pid = pid.trim();
    assert_eq!(
        err,
        format!(
            "squirrel: error: squirrel.pid: process {pid} is running and holds this pid file: a server already runs; stop it first (kill {pid}), reload it with kill -HUP {pid}, or give another --pid-file\n"
        )
    );
    let (code, _) = server.stop();
    assert_eq!(code, Some(0));
    assert!(!s.path("squirrel.pid").exists(), "removed on a clean exit");
    // A stale file (no such process) is replaced, with a note.
    let stale = (100_000..)
        .find(|n| !std::path::Path::new(&format!("/proc/{n}")).exists())
        .unwrap();
    s.write("squirrel.pid", &format!("{stale}\n"));
    let server = s.serve(&["--pid-file", "squirrel.pid"]);
    let fresh = retry(|| Some(s.read("squirrel.pid")).filter(|p| p.trim() != stale.to_string()));
    assert!(fresh.is_some(), "the stale pid file is replaced");
    let (_, log) = server.stop();
    assert!(
        log.contains(&format!(
            "--pid-file squirrel.pid: replacing a stale pid file (it held \"{stale}\", which is not a running process)"
        )),
        "{log}"
    );
}

#[test]
fn fernet_key_env_takes_its_variable_in_every_form() {
    let s = Scratch::new();
    let env = [("SECRET_KEY", KEY), ("MY_KEY", KEY)];
    for form in [
        &["--fernet-key-env"][..],
        &["--fernet-key-env", "MY_KEY"],
        &["--fernet-key-env=MY_KEY"],
    ] {
        let server = s.serve_with_env(form, &env);
        assert!(
            server.banner.ends_with("each body a fresh Fernet token"),
            "{form:?}"
        );
        let url = server.url.as_str();
        let gets: [&[&str]; 4] = [
            &["get", "--raw", "--fernet-key-env", url],
            &["get", "--raw", "--fernet-key-env", "SECRET_KEY", url],
            &["get", "--raw", "--fernet-key-env", "MY_KEY", url],
            &["get", "--raw", "--fernet-key-env=MY_KEY", url],
        ];
        for get in gets {
            assert_eq!(
                s.squirrel_out(get, &env).1,
                "fluffy tail",
                "{form:?} {get:?}"
            );
        }
        // The URL from SECRET_URL, the flag alone or with its variable.
        let env_url = [("SECRET_KEY", KEY), ("SECRET_URL", url)];
        for get in [
            &["get", "--raw", "--fernet-key-env"][..],
            &["get", "--raw", "--fernet-key-env", "SECRET_KEY"],
        ] {
            assert_eq!(s.squirrel_out(get, &env_url).1, "fluffy tail", "{get:?}");
        }
    }
    let err = s.fails(&["get", "--fernet-key-env"], 2);
    assert!(
        err.starts_with("error: the following required arguments were not provided:\n  <URL> (or set SECRET_URL)\n"),
        "{err}"
    );
    let err = s.fails(&["get", "--fernet-key-env", "http://a", "http://b"], 2);
    assert!(
        err.starts_with(
            "error: --fernet-key-env \"http://a\" is not the name of an environment variable"
        ),
        "{err}"
    );
    let err = s.fails(&["serve", "--fernet-key-env", "a:b", "--check-config"], 1);
    assert!(
        err.contains("--fernet-key-env \"a:b\" is not the name of an environment variable"),
        "{err}"
    );
}

#[test]
fn serve_takes_the_passphrase_flags_its_messages_recommend() {
    let s = Scratch::new();
    https_files(&s);
    let tls = ["--cert", "localhost.pem", "--key", "localhost-key.pem"];
    let err = s.fails(
        &["serve", tls[0], tls[1], tls[2], tls[3], "--check-config"],
        1,
    );
    assert!(
        err.contains("give it with --pass-file FILE or --pass-env VAR"),
        "{err}"
    );
    for (flags, env) in [
        (&["--pass-file", "kp"][..], &[][..]),
        (&["--pass-env", "KP"], &[("KP", "key secret")]),
        (&["--key-pass-file", "kp"], &[]),
        (&["--key-pass-env", "KP"], &[("KP", "key secret")]),
    ] {
        let mut args = tls.to_vec();
        args.extend_from_slice(flags);
        let (code, out, err) = check(&s, &args, env);
        assert_eq!(code, 0, "{flags:?}: {err}");
        assert!(out.starts_with("configuration OK\n"), "{flags:?}");
    }
    s.write(
        "serve.toml",
        "cert = \"localhost.pem\"\nkey = \"localhost-key.pem\"\npass-file = \"kp\"\n",
    );
    assert_eq!(check(&s, &["--config", "serve.toml"], &[]).0, 0);
    let help = s.ok(&["serve", "--help"]);
    assert!(help.contains("[alias: --pass-file]"), "{help}");
    assert!(help.contains("--pass-env]"), "{help}");
    let err = s.fails(
        &[
            "serve",
            tls[0],
            tls[1],
            tls[2],
            tls[3],
            "--no-pass",
            "--check-config",
        ],
        1,
    );
    assert!(
        err.contains("use --pass-file FILE, --pass-env VAR"),
        "{err}"
    );
}

#[test]
fn the_example_config_passes_check_config() {
    let s = Scratch::new();
    https_files(&s);
    s.ok(&["pki", "crl", "--pass-file", "pw", "--out", "members.crl"]);
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contrib/serve.toml");
    let text = std::fs::read_to_string(&example).expect("contrib/serve.toml");
    // The credentials systemd would hand over, and the members' files, here.
    let here = format!("{}/", s.dir.path().display());
    let text = text
        .replace("/run/credentials/squirrel.service/", &here)
        .replace("server-key.pass", "kp")
        .replace("server-key.pem", "localhost-key.pem")
        .replace("server.pem", "localhost.pem")
        .replace("# client-ca = \"ca.pem\"", "client-ca = \"ca/ca.pem\"")
        .replace("# crl = ", "crl = ");
    s.write("serve.toml", &text);
    s.write("message.txt", "fluffy tail\n");
    let (code, out, err) = check(&s, &["--config", "serve.toml"], &[]);
    assert_eq!((code, err.as_str()), (0, ""), "{text}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "configuration OK");
    assert_eq!(lines[1], "  listen: 0.0.0.0:5683 (HTTPS, members only)");
    assert!(lines[2].starts_with("  certificate: From "), "{out}");
    assert_eq!(lines[3], "  message: message.txt (11 bytes)");
    // And the unit names the config the example is for.
    let unit = std::fs::read_to_string(example.with_file_name("squirrel.service")).unwrap();
    assert!(unit
        .contains("ExecStart=/usr/local/bin/squirrel serve --config /etc/squirrel/serve.toml\n"));
    assert!(unit.contains("ExecReload=/bin/kill -HUP $MAINPID\n"));
}

/// `squirrel get --json` of `url`, trusting the scratch CA: the secret and
/// the serial of the certificate the server presented.
fn secret_and_serial(s: &Scratch, url: &str) -> (String, String) {
    let out = s.ok(&["get", "--json", "--ca", "ca/ca.pem", url]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    (
        json["body"].as_str().unwrap().to_string(),
        json["tls"]["serial"].as_str().unwrap().to_string(),
    )
}

/// SIGHUP reads `--config` again, as nginx does: a new message and a new
/// certificate file named in it are served without a restart; a changed
/// limit is named as needing a restart; a file that no longer reads keeps
/// the running configuration, and the log says why.
#[test]
fn sighup_reads_the_config_file_again() {
    let s = Scratch::new();
    s.init_ca(&[]);
    s.issue(&["localhost"]);
    let toml = |cert: &str, key: &str, message: &str, extra: &str| {
        s.write(
            "serve.toml",
            &format!("cert = \"{cert}\"\nkey = \"{key}\"\nmessage = \"{message}\"\n{extra}"),
        );
    };
    toml("localhost.pem", "localhost-key.pem", "first secret", "");
    let server = s.serve(&["--config", "serve.toml"]);
    let url = format!("https://localhost:{}/", server.port);
    let (secret, first_serial) = secret_and_serial(&s, &url);
    assert_eq!(secret, "first secret");

    s.issue(&["localhost", "127.0.0.1"]);
    toml(
        "localhost+1.pem",
        "localhost+1-key.pem",
        "second secret",
        "",
    );
    let mark = server.log_mark();
    server.signal("HUP");
    server.wait_for_log(mark, "reloaded certificate, key");
    let (secret, serial) = secret_and_serial(&s, &url);
    assert_eq!(secret, "second secret");
    assert_ne!(serial, first_serial, "the new certificate is served");

    toml(
        "localhost+1.pem",
        "localhost+1-key.pem",
        "third secret",
        "idle-timeout = 7\n",
    );
    let mark = server.log_mark();
    server.signal("HUP");
    let log = server.wait_for_log(mark, "reloaded certificate, key");
    assert!(
        log.contains("serve.toml: a limit changed: that takes a restart"),
        "{log}"
    );
    assert_eq!(secret_and_serial(&s, &url).0, "third secret");

    s.write("serve.toml", "cert = \"localhost+1.pem\"\nkey = [\n");
    let mark = server.log_mark();
    server.signal("HUP");
    let log = server.wait_for_log(mark, "reload failed");
    assert!(
        log.contains("reload failed, keeping the previous configuration: --config serve.toml"),
        "{log}"
    );
    assert_eq!(secret_and_serial(&s, &url).0, "third secret");
    let (code, _) = server.stop();
    assert_eq!(code, Some(0));
}
