//! Target `dns_answer`: DNS responses as the client receives them. The bytes are judged by
//! `logenrich-dns`'s own check (`wire::answer_to_any`, through its `fuzzing` feature:
//! hickory-proto's decoder, then "a response, to our question, under one of our IDs"),
//! then read the way `answer.rs` reads an accepted answer (response code, records of
//! the asked type, PTR names, A addresses, TXT strings, the SOA's negative TTL). The
//! client never encodes an answer again, so neither does this target.
//!
//! `answer.rs`'s own functions are async over a live client and crate-private, so they
//! are not called: the record reading below follows them (see fuzz/README.md).
//!
//! Input: a mode byte, then the response. Mode bits 0–1: the question (PTR of a client,
//! DNSBL A, DNSBL TXT reason, Team Cymru origin TXT); bit 2: an IPv6 client; bit 3: the
//! response's ID is set to one we sent (else it is kept, and only 0xbeef or 0x1234 match).

use std::net::IpAddr;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use logenrich_dns::fuzzing;
use logenrich_types::names::{cymru_origin_name, dnsbl_query_name};

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

/// What the client takes from an accepted answer (as `answer.rs` does).
fn read(answer: &Message, rtype: RecordType) {
    let negative_ttl = answer.authorities.iter().find_map(|r| match &r.data {
        RData::SOA(soa) => Some(Duration::from_secs(r.ttl.min(soa.minimum).into())),
        _ => None,
    });
    if answer.metadata.response_code != ResponseCode::NoError {
        let _ = (negative_ttl, answer.metadata.response_code.to_string());
        return;
    }
    let records: Vec<_> = answer
        .answers
        .iter()
        .filter(|r| r.record_type() == rtype)
        .collect();
    let Some(first) = records.first() else {
        return;
    };
    let ttl = records.iter().map(|r| r.ttl).min().unwrap_or(0);
    assert!(ttl <= first.ttl);
    match rtype {
        RecordType::PTR => {
            if let RData::PTR(name) = &first.data {
                let text = name.0.to_ascii();
                let _ = text.trim_end_matches('.').to_owned();
            }
        }
        RecordType::A => {
            let answers: Vec<_> = records
                .iter()
                .filter_map(|r| match &r.data {
                    RData::A(a) => Some(a.0),
                    _ => None,
                })
                .collect();
            assert!(answers.len() <= records.len());
        }
        _ => {
            let texts: Vec<String> = records
                .iter()
                .filter_map(|r| match &r.data {
                    RData::TXT(txt) => {
                        Some(String::from_utf8_lossy(&txt.txt_data.concat()).into_owned())
                    }
                    _ => None,
                })
                .collect();
            // The DNSBL reason, and what Team Cymru's decoder is given.
            let _ = texts.join("; ");
            let _ = logenrich_policy::cymru::best_origin(&texts);
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
    read(&answer, rtype);
}
