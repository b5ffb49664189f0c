//! [`Daemon`]: a server process of the harness, its output gathered as it
//! comes, stopped when dropped.

use super::*;

/// A server process: its stdout and stderr gathered in one log as they
/// come; stopped (SIGTERM, then SIGKILL) when dropped, its log printed if
/// the test is failing or `SQUIRREL_ACME_TEST_LOGS` is set.
pub struct Daemon {
    name: String,
    child: std::process::Child,
    log: Arc<Log>,
}

/// The lines a child wrote, and how many of its two streams have closed.
#[derive(Default)]
struct Log {
    state: Mutex<(String, u8)>,
    grew: Condvar,
}

impl Log {
    fn follow(self: Arc<Self>, stream: impl std::io::Read) {
        use std::io::BufRead;
        let mut reader = std::io::BufReader::new(stream);
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = reader.read_until(b'\n', &mut line).unwrap_or(0);
            let mut state = self.state.lock().unwrap();
            state.0.push_str(&String::from_utf8_lossy(&line));
            if n == 0 {
                state.1 += 1;
            }
            self.grew.notify_all();
            if n == 0 {
                return;
            }
        }
    }

    fn text(&self) -> String {
        self.state.lock().unwrap().0.clone()
    }
}

impl Daemon {
    pub fn spawn(name: &str, mut cmd: Command) -> Daemon {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {name}: {e}"));
        let log = Arc::new(Log::default());
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        std::thread::spawn({
            let log = log.clone();
            move || log.follow(out)
        });
        std::thread::spawn({
            let log = log.clone();
            move || log.follow(err)
        });
        Daemon {
            name: name.into(),
            child,
            log,
        }
    }

    /// Everything it wrote so far.
    pub fn log(&self) -> String {
        self.log.text()
    }

    /// Sends signal `name` (HUP, TERM...) to the process.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -s {name} failed");
    }

    /// Waits until the log contains `needle`; panics with the log otherwise.
    /// Waits for the process to end (after [`Daemon::signal`]): its exit
    /// status, and all it wrote.
    pub fn wait_exit(&mut self) -> (std::process::ExitStatus, String) {
        let status = self.child.wait().expect("wait for the server");
        // Its streams close with it; the reader threads finish the log.
        let _ = self.wait_for("the end of its output", |_| None::<()>);
        (status, self.log())
    }

    pub fn wait_for_line(&self, needle: &str) {
        if let Err(e) = self.wait_for(needle, |log| log.contains(needle).then_some(())) {
            panic!("{e}");
        }
    }

    /// Waits until `found` finds something in the log; Err (with the log)
    /// if the process closes its output (exits) first, or after
    /// [`READY_DEADLINE`].
    pub fn wait_for<T>(&self, what: &str, found: impl Fn(&str) -> Option<T>) -> Result<T, String> {
        let deadline = Instant::now() + READY_DEADLINE;
        let mut state = self.log.state.lock().unwrap();
        loop {
            if let Some(value) = found(&state.0) {
                return Ok(value);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if state.1 == 2 || left.is_zero() {
                return Err(format!(
                    "{} never printed {what} ({}); its output:\n{}\n",
                    self.name,
                    if state.1 == 2 {
                        "it exited"
                    } else {
                        "timed out"
                    },
                    state.0
                ));
            }
            state = self.log.grew.wait_timeout(state, left).unwrap().0;
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-s", "TERM", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() || std::env::var_os("SQUIRREL_ACME_TEST_LOGS").is_some() {
            eprintln!("--- {} log:\n{}", self.name, self.log.text());
        }
    }
}
