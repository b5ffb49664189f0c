//! Frequency analysis recovers the shift of English text of 40 letters or
//! more, whatever the shift (tutorial step 5).

use squirrel_cipher::caesar::{crack, decrypt, encrypt, RELIABLE_LETTERS};

/// English prose of several registers, cut below into every run of words
/// that holds at least 40 letters.
const PROSE: &str = "The leader of a Python club, the Secret Squirrels, must give the members \
a secret message that changes at every meeting. Cryptography is a way to protect communications \
from eavesdroppers or adversaries. Another way to say it is that you take normal information, \
called plaintext, and convert it to scrambled text, called ciphertext. If you have ever had a \
secret language that you and your friends used when passing notes in class, then you have \
practiced cryptography. Now you and the secret squirrel have the same secret colour. You have now \
shared a secure secret with a total stranger. It was the best of times, it was the worst of \
times, it was the age of wisdom, it was the age of foolishness, it was the epoch of belief, it \
was the epoch of incredulity. Call me Ishmael. Some years ago, never mind how long precisely, \
having little or no money in my purse, and nothing particular to interest me on shore, I thought \
I would sail about a little and see the watery part of the world. Quick zephyrs blow, vexing \
daft Jim, while the jovial wizard quickly jinxed the gnomes before they vaporized. Please \
remember to bring your umbrella tomorrow because the weather forecast says it will rain all \
afternoon in the city.";

/// Every run of whole words of the prose that holds 40 letters or more,
/// starting at every word.
fn sentences() -> Vec<String> {
    let words: Vec<&str> = PROSE.split_whitespace().collect();
    let letters = |w: &str| w.chars().filter(char::is_ascii_alphabetic).count();
    let mut runs = Vec::new();
    for start in 0..words.len() {
        let mut count = 0;
        for end in start..words.len() {
            count += letters(words[end]);
            if count >= RELIABLE_LETTERS {
                runs.push(words[start..=end].join(" "));
                break;
            }
        }
    }
    runs
}

fn check_every_shift(samples: &[String]) {
    let mut failures = Vec::new();
    for text in samples {
        for shift in 0..26 {
            let result = crack(&encrypt(text, shift)).unwrap();
            assert!(result.letters >= RELIABLE_LETTERS);
            assert!(result.reliable);
            let best = result.best();
            if best.shift != shift as u8 || best.plaintext != *text {
                failures.push(format!("shift {shift}: {text:?} -> {}", best.shift));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_shift_of_every_40_letter_sentence_is_recovered() {
    let samples = sentences();
    assert!(samples.len() > 200, "{}", samples.len());
    check_every_shift(&samples);
}

#[test]
fn pangrams_and_rare_letters() {
    let samples = [
        "The quick brown fox jumps over the lazy dog, and then the dog sleeps.",
        "Quick zephyrs blow, vexing daft Jim, while the jovial wizard quickly jinxed them.",
        "Sphinx of black quartz, judge my vow, for the jazz band will not wait.",
        "Crambled text, called ciphertext. If you have ever had a secret, you know.",
    ];
    check_every_shift(&samples.map(String::from));
}

#[test]
fn the_tutorial_message_in_a_sentence() {
    let secret = "The secret message for the next meeting is fluffy tail, do not tell the spy.";
    let cipher = encrypt(secret, 1);
    let result = crack(&cipher).unwrap();
    assert_eq!(result.best().shift, 1);
    assert_eq!(result.best().plaintext, secret);
    assert_eq!(decrypt(&cipher, 1), secret);
    assert_eq!(result.candidates.len(), 26);
    assert!(result.candidates[0].chi_squared < result.candidates[1].chi_squared);
}

#[test]
fn short_texts_are_flagged_unreliable() {
    let result = crack("ekteex szhk").unwrap();
    assert_eq!(result.letters, 10);
    assert!(!result.reliable);
}
