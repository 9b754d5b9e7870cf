//! Entry points for the fuzz targets in `fuzz/` (cargo feature `fuzzing`, off by default):
//! the crate-private functions that judge the bytes a server sent back, made callable from
//! outside. Not an API: nothing else may use it.

use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RecordType};
use logenrich_types::{DnsblOutcome, PtrOutcome, TxtOutcome};

use crate::answer;

/// The query the client sends for `name`/`rtype` (random ID, EDNS(0)), and its bytes.
pub fn query(name: Name, rtype: RecordType) -> Result<(Message, Vec<u8>), String> {
    crate::wire::query(name, rtype)
}

/// `bytes` decoded as the client decodes a received datagram: if it is a response to
/// `query` sent under one of `ids`, the message and the index of that ID.
pub fn answer_to_any(query: &Message, ids: &[u16], bytes: &[u8]) -> Option<(Message, usize)> {
    crate::wire::answer_to_any(query, ids.iter().copied(), bytes)
}

/// `bytes` with its first two bytes (the ID) replaced by `id`.
pub fn with_id(bytes: &[u8], id: u16) -> Vec<u8> {
    crate::wire::with_id(bytes, id)
}

/// What the client makes of an accepted response to a PTR question.
pub fn ptr(response: &Message) -> PtrOutcome {
    answer::ptr_outcome(response).0
}

/// What the client makes of an accepted response to a DNSBL A question (no reason yet).
pub fn dnsbl(response: &Message) -> DnsblOutcome {
    answer::dnsbl_outcome(response).0
}

/// The listing reason the client takes from an accepted response to its TXT question.
pub fn dnsbl_reason(response: &Message) -> Option<String> {
    answer::dnsbl_reason(response)
}

/// What the client makes of an accepted response to a TXT question (Team Cymru).
pub fn txt(response: &Message) -> TxtOutcome {
    answer::txt_outcome(response).0
}
