//! From DNS responses to lookup outcomes: a PTR name, a DNSBL verdict (A answers, then the
//! TXT reason), not found with the zone's negative TTL, or a failure, each with how long
//! it may be cached.

use std::net::IpAddr;
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use crate::cache::Lifetime;
use crate::client::{Client, Failure};
use logenrich_types::{DnsblOutcome, LookupError, PtrOutcome, TxtOutcome};

/// What a response says about one question.
#[derive(Debug, PartialEq)]
enum Answer<'a> {
    /// The records of the asked type (at least one).
    Records(Vec<&'a Record>),
    /// NXDOMAIN, or no record of the type; the negative TTL from the SOA if sent.
    NotFound(Option<Duration>),
    /// SERVFAIL, REFUSED or another error code.
    Failed(LookupError),
}

/// The negative-caching TTL of a response (RFC 2308 §5): the smaller of its SOA's TTL and
/// the SOA's MINIMUM field.
fn negative_ttl(response: &Message) -> Option<Duration> {
    response.authorities.iter().find_map(|r| match &r.data {
        RData::SOA(soa) => Some(Duration::from_secs(r.ttl.min(soa.minimum).into())),
        _ => None,
    })
}

fn classify(response: &Message, rtype: RecordType) -> Answer<'_> {
    match response.metadata.response_code {
        ResponseCode::NoError => {
            let records: Vec<&Record> = response
                .answers
                .iter()
                .filter(|r| r.record_type() == rtype)
                .collect();
            if records.is_empty() {
                Answer::NotFound(negative_ttl(response))
            } else {
                Answer::Records(records)
            }
        }
        ResponseCode::NXDomain => Answer::NotFound(negative_ttl(response)),
        ResponseCode::ServFail => Answer::Failed(LookupError::ServerFailure),
        ResponseCode::Refused => Answer::Failed(LookupError::Refused),
        other => Answer::Failed(LookupError::Other(format!("the server answered {other}"))),
    }
}

fn failed(failure: Failure) -> LookupError {
    match failure {
        Failure::Timeout => LookupError::Timeout,
        Failure::Unreachable(m) | Failure::Other(m) => LookupError::Other(m),
    }
}

/// The smallest TTL of `records`, as a [`Lifetime::Positive`].
fn positive(records: &[&Record]) -> Lifetime {
    let ttl = records.iter().map(|r| r.ttl).min().unwrap_or(0);
    Lifetime::Positive(Duration::from_secs(ttl.into()))
}

/// The PTR name of `ip` (its first PTR record, without the trailing dot).
pub(super) async fn ptr(client: &Client, ip: IpAddr) -> (PtrOutcome, Lifetime) {
    match client.query(Name::from(ip), RecordType::PTR).await {
        Ok(response) => ptr_outcome(&response),
        Err(failure) => (PtrOutcome::Failed(failed(failure)), Lifetime::Failed),
    }
}

/// What a response to a PTR question says.
pub(super) fn ptr_outcome(response: &Message) -> (PtrOutcome, Lifetime) {
    match classify(response, RecordType::PTR) {
        Answer::Records(records) => match &records[0].data {
            RData::PTR(name) => {
                let name = name.0.to_ascii().trim_end_matches('.').to_owned();
                (PtrOutcome::Found(name), positive(&records))
            }
            _ => (PtrOutcome::NotFound, Lifetime::Negative(None)),
        },
        Answer::NotFound(ttl) => (PtrOutcome::NotFound, Lifetime::Negative(ttl)),
        Answer::Failed(e) => (PtrOutcome::Failed(e), Lifetime::Failed),
    }
}

/// The DNSBL verdict for query name `name`: its A records, and for a listing the TXT
/// reason.
pub(super) async fn dnsbl(client: &Client, name: Name) -> (DnsblOutcome, Lifetime) {
    let verdict = match client.query(name.clone(), RecordType::A).await {
        Ok(response) => dnsbl_outcome(&response),
        Err(failure) => (DnsblOutcome::Failed(failed(failure)), Lifetime::Failed),
    };
    let (DnsblOutcome::Listed { answers, .. }, lifetime) = verdict else {
        return verdict;
    };
    // The reason is extra: a listing without it (no TXT, or its query failed) stands.
    let reason = match client.query(name, RecordType::TXT).await {
        Ok(txt) => dnsbl_reason(&txt),
        Err(_) => None,
    };
    (DnsblOutcome::Listed { answers, reason }, lifetime)
}

/// What a response to a DNSBL A question says (a listing without its reason yet).
pub(super) fn dnsbl_outcome(response: &Message) -> (DnsblOutcome, Lifetime) {
    match classify(response, RecordType::A) {
        Answer::Records(records) => {
            let answers = records
                .iter()
                .filter_map(|r| match &r.data {
                    RData::A(a) => Some(a.0),
                    _ => None,
                })
                .collect();
            let listed = DnsblOutcome::Listed {
                answers,
                reason: None,
            };
            (listed, positive(&records))
        }
        Answer::NotFound(ttl) => (DnsblOutcome::NotListed, Lifetime::Negative(ttl)),
        Answer::Failed(e) => (DnsblOutcome::Failed(e), Lifetime::Failed),
    }
}

/// A listing's reason from the response to its TXT question: the records' texts joined
/// by `"; "`.
pub(super) fn dnsbl_reason(response: &Message) -> Option<String> {
    match classify(response, RecordType::TXT) {
        Answer::Records(records) => {
            let texts = txt_strings(&records);
            (!texts.is_empty()).then(|| texts.join("; "))
        }
        _ => None,
    }
}

/// The TXT records of `name`, one string per record (a Team Cymru answer).
pub(super) async fn txt(client: &Client, name: Name) -> (TxtOutcome, Lifetime) {
    match client.query(name, RecordType::TXT).await {
        Ok(response) => txt_outcome(&response),
        Err(failure) => (TxtOutcome::Failed(failed(failure)), Lifetime::Failed),
    }
}

/// What a response to a TXT question says.
pub(super) fn txt_outcome(response: &Message) -> (TxtOutcome, Lifetime) {
    match classify(response, RecordType::TXT) {
        Answer::Records(records) => (TxtOutcome::Found(txt_strings(&records)), positive(&records)),
        Answer::NotFound(ttl) => (TxtOutcome::NotFound, Lifetime::Negative(ttl)),
        Answer::Failed(e) => (TxtOutcome::Failed(e), Lifetime::Failed),
    }
}

/// The text of each TXT record: its strings concatenated (as bytes, then decoded as
/// UTF-8, lossily).
fn txt_strings(records: &[&Record]) -> Vec<String> {
    records
        .iter()
        .filter_map(|r| match &r.data {
            RData::TXT(txt) => Some(String::from_utf8_lossy(&txt.txt_data.concat()).into_owned()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::Query;
    use hickory_proto::rr::rdata::{A, SOA};

    use super::*;

    fn response(code: ResponseCode) -> Message {
        let mut m = Message::query();
        let name = Name::from_ascii("2.0.0.127.bl.test.").expect("name");
        m.add_query(Query::query(name, RecordType::A));
        m.metadata.response_code = code;
        m
    }

    #[test]
    fn classifies_response_codes_and_negative_ttls() {
        let apex = Name::from_ascii("bl.test.").expect("name");
        let mut nx = response(ResponseCode::NXDomain);
        assert_eq!(classify(&nx, RecordType::A), Answer::NotFound(None));
        let soa = SOA::new(apex.clone(), apex.clone(), 1, 3600, 600, 86_400, 30);
        nx.authorities
            .push(Record::from_rdata(apex.clone(), 300, RData::SOA(soa)));
        assert_eq!(
            classify(&nx, RecordType::A),
            Answer::NotFound(Some(Duration::from_secs(30)))
        );
        assert_eq!(
            classify(&response(ResponseCode::ServFail), RecordType::A),
            Answer::Failed(LookupError::ServerFailure)
        );
        assert_eq!(
            classify(&response(ResponseCode::Refused), RecordType::A),
            Answer::Failed(LookupError::Refused)
        );
        assert!(matches!(
            classify(&response(ResponseCode::FormErr), RecordType::A),
            Answer::Failed(LookupError::Other(_))
        ));
        let mut ok = response(ResponseCode::NoError);
        assert_eq!(
            classify(&ok, RecordType::A),
            Answer::NotFound(None),
            "NODATA"
        );
        ok.answers.push(Record::from_rdata(
            apex,
            120,
            RData::A(A::new(127, 0, 0, 2)),
        ));
        assert!(matches!(classify(&ok, RecordType::A), Answer::Records(r) if r.len() == 1));
        assert!(matches!(
            classify(&ok, RecordType::TXT),
            Answer::NotFound(None)
        ));
    }
}
