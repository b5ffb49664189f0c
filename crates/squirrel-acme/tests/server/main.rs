//! The ACME server in process: RFC 8555's resources, state machines and
//! error types, with a real CA, a real ledger and real http-01 validation
//! over loopback.

mod errors;
mod flow;
mod harness;
mod responder;
mod stalled;
