//! Challenge validation against real responders on 127.0.0.1: small HTTP,
//! TLS and DNS servers made here, on ephemeral ports, and Pebble's
//! `pebble-challtestsrv` as a DNS server when it is installed. One module
//! per challenge type; the helpers every module uses are here.

mod dns01;
mod http01;
mod tls_alpn01;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, TXT};
use hickory_proto::rr::{Name, RData, Record};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use squirrel_acme::model::{ChallengeType, Identifier};
use squirrel_acme::problem::ErrorType;
use squirrel_acme::validate::{validate, ValidationConfig};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

const TOKEN: &str = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
const KEY_AUTHZ: &str =
    "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";
const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn digest(text: &str) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes())
        .as_ref()
        .to_vec()
}

fn base_config() -> ValidationConfig {
    ValidationConfig {
        timeout: Duration::from_secs(5),
        ..ValidationConfig::default()
    }
}

/// `name` → 127.0.0.1, as `--resolve`.
fn resolving(names: &[&str]) -> HashMap<String, Vec<IpAddr>> {
    names
        .iter()
        .map(|name| (name.to_string(), vec![LOCALHOST]))
        .collect()
}

/// A port nothing listens on (bound, then closed).
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}
