//! Target `dns_answer`: DNS responses as the client receives them. The bytes are judged by
//! `logenrich-dns`'s own check (`wire::answer_to_any`, through its `fuzzing` feature:
//! hickory-proto's decoder, then "a response, to our question, under one of our IDs"),
//! then decoded by `answer.rs`'s own functions (response code, records of the asked
//! type, PTR names, A addresses, TXT strings, the SOA's negative TTL). The client never
//! encodes an answer again, so neither does this target.
//!
//! Input: a mode byte, then the response. Mode bits 0–1: the question (PTR of a client,
//! DNSBL A, DNSBL TXT reason, Team Cymru origin TXT); bit 2: an IPv6 client; bit 3: the
//! response's ID is set to one we sent (else it is kept, and only 0xbeef or 0x1234 match).

use std::net::IpAddr;

use hickory_proto::op::{Message, MessageType};
use hickory_proto::rr::{Name, RecordType};
use logenrich_dns::fuzzing;
use logenrich_types::names::{cymru_origin_name, dnsbl_query_name};
use logenrich_types::{DnsblOutcome, TxtOutcome};

/// The IDs a query was sent under (a first send and a retransmit).
pub const IDS: [u16; 2] = [0xbeef, 0x1234];

/// The question of `mode`.
pub fn question(mode: u8) -> (Name, RecordType) {
    let ip: IpAddr = if mode & 4 == 0 {
        "192.0.2.1".parse().expect("an address")
    } else {
        "2001:db8::1".parse().expect("an address")
    };
    let name = |text: String| Name::from_ascii(format!("{text}.")).expect("a query name");
    match mode & 3 {
        0 => (Name::from(ip), RecordType::PTR),
        1 => (
            name(dnsbl_query_name(ip, "zen.spamhaus.org")),
            RecordType::A,
        ),
        2 => (
            name(dnsbl_query_name(ip, "zen.spamhaus.org")),
            RecordType::TXT,
        ),
        _ => (name(cymru_origin_name(ip)), RecordType::TXT),
    }
}

/// What the client makes of an accepted answer: `answer.rs`'s own decoders, through the
/// `fuzzing` feature, and Team Cymru's TXT decoder after them.
fn read(answer: &Message, mode: u8) {
    match mode & 3 {
        0 => {
            let _ = fuzzing::ptr(answer);
        }
        1 => {
            if let DnsblOutcome::Listed { answers, reason } = fuzzing::dnsbl(answer) {
                assert!(answers.len() <= answer.answers.len());
                assert!(reason.is_none(), "the reason comes from the TXT question");
            }
        }
        2 => {
            let _ = fuzzing::dnsbl_reason(answer);
        }
        _ => {
            if let TxtOutcome::Found(texts) = fuzzing::txt(answer) {
                assert!(texts.len() <= answer.answers.len());
                let _ = logenrich_policy::cymru::best_origin(&texts);
            }
        }
    }
}

/// The target's body.
pub fn run(data: &[u8]) {
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    let (name, rtype) = question(mode);
    let (query, _) = fuzzing::query(name, rtype).expect("a query encodes");
    let bytes = if mode & 8 != 0 {
        fuzzing::with_id(bytes, IDS[1])
    } else {
        bytes.to_vec()
    };
    let Some((answer, index)) = fuzzing::answer_to_any(&query, &IDS, &bytes) else {
        return;
    };
    assert!(index < IDS.len());
    assert_eq!(answer.metadata.id, IDS[index], "the ID it was taken for");
    assert_eq!(answer.metadata.message_type, MessageType::Response);
    assert_eq!(answer.queries, query.queries, "an answer to our question");
    read(&answer, mode);
}
