//! DNS messages on the wire (encoded and decoded by hickory-proto): the query we send and
//! the check that a received message answers it.

use hickory_proto::op::{Edns, Message, MessageType, Query};
use hickory_proto::rr::{Name, RecordType};

/// The UDP payload size we advertise with EDNS(0): the DNS flag day 2020 value, which
/// avoids IP fragmentation on any path.
const EDNS_PAYLOAD: u16 = 1232;

/// Why one exchange with a server gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Exchange {
    /// Nothing came back before the deadline; `sent` is when the query first went out.
    Timeout {
        /// When the query was first sent.
        sent: std::time::Instant,
    },
    /// The server's port refused (ICMP port unreachable, TCP reset).
    Refused,
    /// The server answers UDP truncated lately: ask over TCP instead.
    UseTcp,
    /// The TCP connection closed under the query (not the query's fault): ask again.
    Closed,
    /// The server was judged down while the query waited for room in its window: it
    /// was not sent.
    Down,
    /// Another network error, described.
    Io(String),
}

/// A recursive query for `name`/`rtype` with a random ID and EDNS(0), and its bytes.
pub(super) fn query(name: Name, rtype: RecordType) -> Result<(Message, Vec<u8>), String> {
    let mut message = Message::query();
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(name, rtype));
    let mut edns = Edns::new();
    edns.set_max_payload(EDNS_PAYLOAD);
    message.edns = Some(edns);
    let bytes = message.to_vec().map_err(|e| e.to_string())?;
    Ok((message, bytes))
}

/// `bytes` decoded, if it is a response with the question of `query` (names compared
/// without case; the ID is not checked).
fn answer_to(query: &Message, bytes: &[u8]) -> Option<Message> {
    let answer = Message::from_vec(bytes).ok()?;
    (answer.metadata.message_type == MessageType::Response && answer.queries == query.queries)
        .then_some(answer)
}

/// `bytes` decoded, if it is a response to `query` sent under one of `ids`; with the
/// index of that ID.
pub(super) fn answer_to_any(
    query: &Message,
    ids: impl Iterator<Item = u16>,
    bytes: &[u8],
) -> Option<(Message, usize)> {
    let id = u16::from_be_bytes(*bytes.first_chunk::<2>()?);
    let index = ids.into_iter().position(|sent| sent == id)?;
    Some((answer_to(query, bytes)?, index))
}

/// `bytes` (a query) with its ID replaced by `id`.
pub(super) fn with_id(bytes: &[u8], id: u16) -> Vec<u8> {
    let mut out = bytes.to_vec();
    if let Some(head) = out.first_chunk_mut::<2>() {
        *head = id.to_be_bytes();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_answers_to_our_question_match() {
        let name = Name::from_ascii("1.2.0.192.in-addr.arpa.").expect("name");
        let (query, bytes) = query(name, RecordType::PTR).expect("query");
        let ours = |bytes: &[u8]| answer_to_any(&query, std::iter::once(query.metadata.id), bytes);
        assert!(ours(&bytes).is_none(), "a query is no answer");
        let mut answer = query.clone();
        answer.metadata.message_type = MessageType::Response;
        let wire = answer.to_vec().expect("encode");
        assert!(ours(&wire).is_some());
        let other_id = with_id(&wire, query.metadata.id.wrapping_add(1));
        assert!(ours(&other_id).is_none());
        let second = answer_to_any(
            &query,
            [7, query.metadata.id.wrapping_add(1)].into_iter(),
            &other_id,
        );
        assert_eq!(second.map(|(_, i)| i), Some(1), "an answer to a resend");
        let mut other = answer.clone();
        other.queries[0].query_type = RecordType::A;
        assert!(ours(&other.to_vec().expect("encode")).is_none());
        assert!(ours(&[0]).is_none());
    }
}
