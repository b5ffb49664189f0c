//! The substitution cipher of tutorial step 4, and its breaking by frequency
//! analysis (step 5).
//!
//! The tutorial's table moves every letter back by one (A->Z, B->A), so
//! "fluffy tail" becomes "ekteex szhk" and the key is the shift, 1. Here the
//! shift can be any integer: encrypting moves letters back by it, decrypting
//! forward. Case is kept; anything that is not an ASCII letter (spaces,
//! digits, punctuation, accented letters) is left alone, as in the
//! tutorial's dictionary where unknown characters map to themselves.
//!
//! Breaking it needs no key: there are only 26 shifts, and for English the
//! right one is the one whose letter counts look most like English. The
//! distance used is Pearson's chi-squared against the usual English letter
//! frequencies. On 40 letters, letter counts alone pick a wrong shift for a
//! few texts in a hundred (a couple of rare letters like x, z or j weigh more
//! than the rest), so the score also counts the common English words each
//! decryption contains: Caesar keeps the spaces, so words are visible. The
//! score is `chi-squared / (1 + common words)`, lower is better; a text with
//! no spaces is ranked on chi-squared alone.

/// Below this many letters the letter counts are too few for frequency
/// analysis to be trusted.
pub const RELIABLE_LETTERS: usize = 40;

/// Relative frequency (percent) of a..z in English text (Lewand, 2000).
pub const ENGLISH_FREQUENCIES: [f64; 26] = [
    8.167, 1.492, 2.782, 4.253, 12.702, 2.228, 2.015, 6.094, 6.966, 0.153, 0.772, 4.025, 2.406,
    6.749, 7.507, 1.929, 0.095, 5.987, 6.327, 9.056, 2.758, 0.978, 2.360, 0.150, 1.974, 0.074,
];

/// The most common words of English (two letters or more, with the usual
/// forms of "be", "have", "do", "say", "make", "go" and "come"), sorted for
/// binary search. A wrong shift seldom turns words into these.
#[rustfmt::skip]
const COMMON_WORDS: [&str; 350] = [
    "about", "add", "after", "again", "against", "ago", "air", "all", "allow", "almost",
    "already", "also", "always", "among", "and", "another", "any", "anything", "are", "area",
    "around", "art", "as", "ask", "at", "away", "back", "bad", "be", "because", "become",
    "been", "before", "begin", "being", "believe", "best", "between", "big", "black", "body",
    "book", "both", "bring", "business", "but", "by", "call", "came", "can", "car", "case",
    "change", "child", "city", "come", "community", "company", "continue", "could", "country",
    "create", "day", "did", "different", "do", "does", "done", "door", "down", "during", "each",
    "early", "end", "even", "ever", "every", "eye", "face", "fact", "family", "far", "father",
    "feel", "few", "find", "first", "five", "follow", "food", "for", "force", "four", "friend",
    "from", "game", "get", "girl", "give", "go", "good", "government", "great", "group", "grow",
    "guy", "had", "hand", "happen", "has", "have", "he", "head", "health", "hear", "help",
    "her", "here", "high", "him", "himself", "his", "history", "hold", "home", "hour", "house",
    "how", "however", "idea", "if", "important", "in", "include", "information", "into", "is",
    "issue", "it", "its", "job", "just", "keep", "kid", "kind", "know", "large", "last",
    "later", "law", "lead", "learn", "least", "leave", "let", "level", "life", "like", "line",
    "little", "live", "long", "look", "lose", "lot", "low", "made", "make", "man", "many",
    "may", "me", "mean", "meet", "member", "might", "million", "minute", "moment", "money",
    "month", "more", "morning", "most", "mother", "move", "much", "must", "my", "name",
    "national", "need", "never", "new", "next", "night", "no", "not", "nothing", "now",
    "number", "of", "off", "offer", "office", "often", "old", "on", "once", "one", "only",
    "open", "or", "other", "others", "our", "out", "over", "own", "parent", "part", "party",
    "pay", "people", "person", "place", "play", "point", "power", "problem", "program",
    "provide", "public", "put", "question", "read", "real", "really", "reason", "research",
    "result", "right", "room", "run", "said", "same", "say", "school", "see", "seem", "service",
    "set", "several", "she", "should", "show", "side", "since", "sit", "small", "so", "social",
    "some", "something", "speak", "spend", "stand", "start", "state", "still", "stop", "story",
    "student", "study", "such", "sure", "system", "take", "talk", "teacher", "team", "tell",
    "than", "that", "the", "their", "them", "then", "there", "these", "they", "thing", "think",
    "this", "those", "three", "through", "time", "to", "today", "together", "too", "try",
    "turn", "two", "under", "understand", "until", "up", "us", "use", "very", "walk", "want",
    "war", "was", "watch", "water", "way", "we", "week", "well", "went", "were", "what", "when",
    "where", "whether", "which", "while", "white", "who", "why", "will", "win", "with",
    "within", "without", "woman", "word", "work", "world", "would", "write", "year", "yes",
    "yet", "you", "young", "your",
];

/// Errors of the Caesar module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaesarError {
    #[error("the text has no letters A-Z to count, so there is nothing to analyse")]
    NoLetters,
}

/// Brings any shift into 0..26.
pub fn normalize(shift: i64) -> u8 {
    // rem_euclid(26) is in 0..26, which fits in a u8.
    shift.rem_euclid(26) as u8
}

/// Moves every ASCII letter forward by `forward` places (0..26), wrapping.
fn rotate(text: &str, forward: u8) -> String {
    text.chars()
        .map(|c| {
            let base = match c {
                'a'..='z' => b'a',
                'A'..='Z' => b'A',
                _ => return c,
            };
            char::from(base + (c as u8 - base + forward) % 26)
        })
        .collect()
}

/// Encrypts: every letter moves back by `shift` (shift 1: A->Z, B->A).
pub fn encrypt(plaintext: &str, shift: i64) -> String {
    rotate(plaintext, (26 - normalize(shift)) % 26)
}

/// Decrypts: every letter moves forward by `shift`, undoing [`encrypt`].
pub fn decrypt(ciphertext: &str, shift: i64) -> String {
    rotate(ciphertext, normalize(shift))
}

/// One possible shift and how English its decryption looks.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Candidate {
    /// The key that, given to [`decrypt`], gives `plaintext`.
    pub shift: u8,
    /// Chi-squared distance from English letter frequencies: lower is more English.
    pub chi_squared: f64,
    /// How many words of `plaintext` are among the most common English words.
    pub common_words: usize,
    /// `chi_squared / (1 + common_words)`: the ranking, lower is better.
    pub score: f64,
    pub plaintext: String,
}

/// The result of frequency analysis: all 26 shifts, most English first.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Crack {
    /// How many letters were counted.
    pub letters: usize,
    /// False below [`RELIABLE_LETTERS`] letters.
    pub reliable: bool,
    pub candidates: Vec<Candidate>,
}

impl Crack {
    /// The most likely candidate.
    pub fn best(&self) -> &Candidate {
        &self.candidates[0]
    }
}

/// Breaks a Caesar ciphertext by frequency analysis.
pub fn crack(ciphertext: &str) -> Result<Crack, CaesarError> {
    let mut counts = [0usize; 26];
    for c in ciphertext.chars() {
        if c.is_ascii_alphabetic() {
            counts[usize::from(c.to_ascii_lowercase() as u8 - b'a')] += 1;
        }
    }
    let letters: usize = counts.iter().sum();
    if letters == 0 {
        return Err(CaesarError::NoLetters);
    }
    let mut candidates: Vec<Candidate> = (0..26u8)
        .map(|shift| {
            let plaintext = decrypt(ciphertext, i64::from(shift));
            let chi_squared = chi_squared(&counts, shift, letters);
            let common_words = common_words(&plaintext);
            Candidate {
                shift,
                chi_squared,
                common_words,
                score: chi_squared / (1 + common_words) as f64,
                plaintext,
            }
        })
        .collect();
    candidates.sort_by(|a, b| a.score.total_cmp(&b.score).then(a.shift.cmp(&b.shift)));
    Ok(Crack {
        letters,
        reliable: letters >= RELIABLE_LETTERS,
        candidates,
    })
}

/// Counts the words (runs of ASCII letters) that are common English words.
fn common_words(text: &str) -> usize {
    text.split(|c: char| !c.is_ascii_alphabetic())
        .filter(|word| word.len() >= 2)
        .filter(|word| {
            COMMON_WORDS
                .binary_search(&word.to_ascii_lowercase().as_str())
                .is_ok()
        })
        .count()
}

/// Chi-squared of the text decrypted with `shift`: decrypting moves letter
/// `c` to `c + shift`, so plaintext letter `p` was counted at `p - shift`.
fn chi_squared(counts: &[usize; 26], shift: u8, letters: usize) -> f64 {
    let n = letters as f64;
    (0..26usize)
        .map(|p| {
            let observed = counts[(p + 26 - usize::from(shift)) % 26] as f64;
            let expected = n * ENGLISH_FREQUENCIES[p] / 100.0;
            (observed - expected).powi(2) / expected
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tutorial_table() {
        assert_eq!(encrypt("ABC", 1), "ZAB");
        assert_eq!(encrypt("fluffy tail", 1), "ekteex szhk");
        assert_eq!(decrypt("ekteex szhk", 1), "fluffy tail");
    }

    #[test]
    fn case_and_non_letters_are_kept() {
        assert_eq!(encrypt("Fluffy Tail, 42 é!", 1), "Ekteex Szhk, 42 é!");
        assert_eq!(encrypt("abc", 27), "zab");
        assert_eq!(encrypt("abc", -1), "bcd");
        assert_eq!(encrypt("abc", 0), "abc");
        assert_eq!(decrypt(&encrypt("Zebra", i64::MIN), i64::MIN), "Zebra");
    }

    #[test]
    fn common_words_are_sorted_and_counted() {
        assert!(COMMON_WORDS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(common_words("The cat, THE dog; a theory of it"), 4);
    }

    #[test]
    fn no_letters_is_an_error() {
        assert_eq!(crack("123 !?").unwrap_err(), CaesarError::NoLetters);
    }
}
