//! directoryName name constraints of a trusted CA (RFC 5280 4.2.1.10).
//!
//! rustls-webpki does not implement them: it refuses every chain under a
//! CA that has one (safe, but a CA may rightly say "only O=Secret
//! Squirrels"). For a trust anchor, squirrel takes the directoryName
//! subtrees out of the constraints it hands to webpki (which still checks
//! the DNS and IP ones) and checks them itself: the subject of every
//! certificate below the anchor (but self-issued ones, and empty subjects)
//! and each directoryName in their alternative names must lie within a
//! permitted subtree, if there are any, and within no excluded one. "Within"
//! is RFC 5280's: the subtree's relative distinguished names begin the
//! name's, compared as DER.

use super::{name_of, Rule, Violation};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};

/// One TLV of DER: (tag, contents, rest).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        n if n < 0x80 => (usize::from(n), rest),
        0x81..=0x84 => {
            let count = usize::from(first & 0x7f);
            let (bytes, rest) = (rest.get(..count)?, rest.get(count..)?);
            let len = bytes
                .iter()
                .fold(0usize, |acc, &b| acc << 8 | usize::from(b));
            (len, rest)
        }
        _ => return None,
    };
    Some((tag, rest.get(..len)?, rest.get(len..)?))
}

/// The elements of a constructed value.
fn elements(mut contents: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    while !contents.is_empty() {
        let start = contents;
        let (_, _, rest) = tlv(contents)?;
        out.push(&start[..start.len() - rest.len()]);
        contents = rest;
    }
    Some(out)
}

fn encode(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(contents);
    out
}

const PERMITTED: u8 = 0xa0;
const EXCLUDED: u8 = 0xa1;
const DIRECTORY_NAME: u8 = 0xa4;

/// The directoryName subtrees of a CA, as the RDNs (DER) each begins with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirConstraints {
    permitted: Vec<Vec<Vec<u8>>>,
    excluded: Vec<Vec<Vec<u8>>>,
}

/// Splits the contents of a NameConstraints SEQUENCE (as webpki keeps it
/// for an anchor) into the directoryName subtrees and the rest, re-encoded
/// (`None` when nothing is left). `None` overall when the DER is not
/// understood: then webpki gets it unchanged and judges it.
pub fn split(contents: &[u8]) -> Option<(DirConstraints, Option<Vec<u8>>)> {
    let mut dir = DirConstraints::default();
    let mut rest_out = Vec::new();
    for part in elements(contents)? {
        let (tag, subtrees, _) = tlv(part)?;
        let mut kept = Vec::new();
        for subtree in elements(subtrees)? {
            let (_, fields, _) = tlv(subtree)?;
            let (base_tag, base, _) = tlv(fields)?;
            if base_tag == DIRECTORY_NAME {
                let (_, name, _) = tlv(base)?; // the Name SEQUENCE
                let rdns = elements(name)?.into_iter().map(<[u8]>::to_vec).collect();
                match tag {
                    PERMITTED => dir.permitted.push(rdns),
                    EXCLUDED => dir.excluded.push(rdns),
                    _ => return None,
                }
            } else {
                kept.extend_from_slice(subtree);
            }
        }
        if !kept.is_empty() {
            rest_out.extend(encode(tag, &kept));
        }
    }
    let rest = (!rest_out.is_empty()).then_some(rest_out);
    Some((dir, rest))
}

impl DirConstraints {
    pub fn is_empty(&self) -> bool {
        self.permitted.is_empty() && self.excluded.is_empty()
    }

    /// Whether a name (the DER of a Name SEQUENCE) is allowed.
    fn allows(&self, name: &[u8]) -> bool {
        let Some(rdns) = tlv(name).and_then(|(_, contents, _)| elements(contents)) else {
            return false;
        };
        let within = |subtree: &Vec<Vec<u8>>| {
            subtree.len() <= rdns.len() && subtree.iter().zip(&rdns).all(|(a, b)| a == b)
        };
        (self.permitted.is_empty() || self.permitted.iter().any(within))
            && !self.excluded.iter().any(within)
    }

    /// Checks a certificate below the CA: its subject and the
    /// directoryNames among its alternative names.
    pub fn check(&self, cert: &X509Certificate<'_>) -> Rule {
        let subject = cert.subject();
        let self_issued = subject.as_raw() == cert.issuer().as_raw();
        let mut names: Vec<&[u8]> = Vec::new();
        if subject.iter_attributes().next().is_some() && !self_issued {
            names.push(subject.as_raw());
        }
        for ext in cert.extensions() {
            if let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension() {
                for name in &san.general_names {
                    if let GeneralName::DirectoryName(dn) = name {
                        names.push(dn.as_raw());
                    }
                }
            }
        }
        match names.into_iter().find(|name| !self.allows(name)) {
            None => Ok(()),
            Some(_) => Err(Violation::new(
                "name-constraints-dirname",
                "permitted subtree violation",
                format!(
                    "{} is named outside the directoryName constraints of its CA",
                    name_of(cert)
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(rdns: &[&[u8]]) -> Vec<u8> {
        encode(0x30, &rdns.concat())
    }

    #[test]
    fn directory_subtrees_are_taken_out_and_judged_by_prefix() {
        let club = encode(0x31, &encode(0x30, b"O=club"));
        let other = encode(0x31, &encode(0x30, b"O=other"));
        let cn = encode(0x31, &encode(0x30, b"CN=x"));
        let dir_subtree = encode(0x30, &encode(DIRECTORY_NAME, &name(&[&club])));
        let dns_subtree = encode(0x30, &encode(0x82, b"example.com"));
        let mut permitted = dir_subtree.clone();
        permitted.extend(&dns_subtree);
        let contents = encode(PERMITTED, &permitted);
        let (dir, rest) = split(&contents).unwrap();
        assert_eq!(rest, Some(encode(PERMITTED, &dns_subtree)));
        assert!(dir.allows(&name(&[&club, &cn])));
        assert!(!dir.allows(&name(&[&other, &cn])));
        assert!(!dir.allows(&name(&[&cn, &club])));
        // Only directoryName subtrees: nothing is left for webpki.
        let (dir, rest) = split(&encode(EXCLUDED, &dir_subtree)).unwrap();
        assert_eq!(rest, None);
        assert!(!dir.allows(&name(&[&club])));
        assert!(dir.allows(&name(&[&other])));
    }
}
