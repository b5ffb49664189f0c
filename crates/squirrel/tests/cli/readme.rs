//! The README is true: every command line of its guides runs, as written,
//! as a newcomer would type them (fresh HOME, passphrases typed at the
//! prompts, `squirrel` on the PATH), and succeeds. The runner is
//! `fixtures/readme_runner.py`; it serves on the README's port, 5683.

use crate::common::Scratch;

#[test]
fn every_command_of_the_readme_guides_runs_as_written() {
    let s = Scratch::new();
    s.write(
        "readme_runner.py",
        include_str!("fixtures/readme_runner.py"),
    );
    let readme = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
    let binary = assert_cmd::cargo::cargo_bin!("squirrel");
    let bin_dir = binary.parent().unwrap().to_str().unwrap();
    let work = s.path("work");
    std::fs::create_dir_all(&work).unwrap();
    let (ok, out) = s.run(
        "python3",
        &[
            "readme_runner.py",
            readme,
            bin_dir,
            work.to_str().unwrap(),
            "Your own CA in four commands+Serve the secret, fetch it",
            "A guide for the leader",
            "A guide for a member",
            "Shell completions, man pages, colour, version",
        ],
    );
    assert!(ok && out.trim_end().ends_with("README OK"), "{out}");
}
