//! `--json`: one JSON object per packet, one per line, for scripts (the
//! same facts as the summary line and the tree, with stable field names).

use crate::display::View;
use crate::dissect::http::StartLine;
use crate::dissect::tls::{Content, Handshake};
use crate::dissect::{tcp, tls_names, Network, Transport};
use crate::reassembly::AppPdu;
use serde_json::{json, Map, Value};

/// The JSON object of one packet.
pub fn packet(v: &View<'_>) -> Value {
    let (src, dst) = v.endpoints();
    let mut info = String::new();
    v.info(&mut info);
    let mut o = Map::new();
    o.insert("number".into(), json!(v.number));
    o.insert(
        "time".into(),
        json!(format!("{}.{:09}", v.frame.ts.secs, v.frame.ts.nanos)),
    );
    o.insert(
        "relative".into(),
        json!(format!(
            "{}.{:09}",
            v.relative / 1_000_000_000,
            v.relative % 1_000_000_000
        )),
    );
    o.insert("length".into(), json!(v.frame.orig_len));
    o.insert("captured".into(), json!(v.frame.data.len()));
    o.insert("protocol".into(), json!(v.protocol()));
    o.insert("src".into(), json!(src));
    o.insert("dst".into(), json!(dst));
    o.insert("info".into(), json!(info));
    if let Network::Ip(ip) = v.d.network {
        o.insert(
            "ip".into(),
            json!({
                "version": ip.version,
                "src": ip.src.to_string(),
                "dst": ip.dst.to_string(),
                "protocol": ip.protocol,
                "ttl": ip.ttl,
            }),
        );
    }
    match v.d.transport {
        Transport::Tcp(t) => {
            let mut flags = String::new();
            tcp::flag_names(t.flags, &mut flags);
            let mut obj = json!({
                "src_port": t.src_port,
                "dst_port": t.dst_port,
                "seq": t.seq,
                "ack": t.ack,
                "flags": flags,
                "window": t.window,
                "len": v.d.payload.len(),
            });
            if let Some(s) = v.seg {
                obj["stream"] = json!(s.stream);
                obj["relative_seq"] = json!(s.rel_seq);
                obj["relative_ack"] = json!(s.rel_ack);
            }
            o.insert("tcp".into(), obj);
        }
        Transport::Udp(u) => {
            o.insert(
                "udp".into(),
                json!({"src_port": u.src_port, "dst_port": u.dst_port, "len": v.d.payload.len()}),
            );
        }
        _ => {}
    }
    let http: Vec<Value> = v
        .pdus
        .iter()
        .filter_map(|p| match p {
            AppPdu::Http(m) => Some(m),
            _ => None,
        })
        .map(|m| {
            let mut h = match &m.start {
                StartLine::Request {
                    method,
                    uri,
                    version,
                } => json!({"request": true, "method": method, "uri": uri, "version": version}),
                StartLine::Response {
                    version,
                    status,
                    reason,
                } => json!({"request": false, "version": version, "status": status, "reason": reason}),
            };
            h["headers"] = json!(m.headers);
            h["body_length"] = json!(m.body_len);
            h["body"] = json!(String::from_utf8_lossy(&m.body[..m.body.len().min(1024)]));
            if let Some(t) = &m.fernet {
                h["fernet"] = json!({
                    "version": t.version,
                    "timestamp": t.timestamp,
                    "date": crate::dissect::fernet::utc_date(t.timestamp),
                    "ciphertext_length": t.ciphertext_len,
                });
            }
            h
        })
        .collect();
    if !http.is_empty() {
        o.insert("http".into(), Value::Array(http));
    }
    let tls: Vec<Value> = v
        .pdus
        .iter()
        .filter_map(|p| match p {
            AppPdu::Tls(r) => Some(r),
            _ => None,
        })
        .map(|r| {
            let mut what = String::new();
            crate::display::record_info(r, &mut what, &mut true);
            let mut rec = json!({
                "content_type": r.content_type,
                "version": tls_names::version(r.version),
                "length": r.length,
                "info": what,
            });
            if let Content::Handshake(msgs) = &r.content {
                for m in msgs {
                    match m {
                        Handshake::ClientHello(ch) => {
                            rec["sni"] = json!(ch.server_name);
                            rec["alpn"] = json!(ch.alpn);
                            rec["cipher_suites"] = json!(ch
                                .cipher_suites
                                .iter()
                                .map(|s| tls_names::cipher_suite_label(*s))
                                .collect::<Vec<_>>());
                        }
                        Handshake::ServerHello(sh) => {
                            rec["negotiated_version"] = json!(tls_names::version(sh.negotiated()));
                            rec["cipher_suite"] =
                                json!(tls_names::cipher_suite_label(sh.cipher_suite));
                        }
                        Handshake::Certificate(certs) => {
                            rec["certificates"] = json!(certs
                                .iter()
                                .map(|c| json!({"subject": c.subject, "issuer": c.issuer,
                                    "not_before": c.not_before, "not_after": c.not_after}))
                                .collect::<Vec<_>>());
                        }
                        Handshake::Other { .. } => {}
                    }
                }
            }
            rec
        })
        .collect();
    if !tls.is_empty() {
        o.insert("tls".into(), Value::Array(tls));
    }
    if let Some(at) = v.secret_at {
        o.insert("secret_offset".into(), json!(at));
    }
    Value::Object(o)
}
