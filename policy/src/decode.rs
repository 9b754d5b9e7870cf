//! Decoding a field before attack rules look at it: nginx's `\xHH` escapes (and `\\`,
//! `\"`) and percent-encoding (by the `percent-encoding` crate), undone round after round
//! so that double and triple encoding is seen through, with a bound on the rounds.

/// How many times a field is decoded at most (`%25252e` needs three).
pub const MAX_DECODE_ROUNDS: usize = 4;

/// Undoes nginx's `\xHH` escapes (and `\\`, `\"`) and percent-encoding, round after round
/// until nothing changes or [`MAX_DECODE_ROUNDS`]. Returns `text` itself when it has
/// nothing to decode; invalid escapes (`%zz`, `\xq`) stay as they are.
pub fn normalize<'t>(text: &'t [u8], decoded: &'t mut Vec<u8>, temp: &mut Vec<u8>) -> &'t [u8] {
    if memchr::memchr2(b'%', b'\\', text).is_none() {
        return text;
    }
    decoded.clear();
    decoded.extend_from_slice(text);
    for _ in 0..MAX_DECODE_ROUNDS {
        let backslash = memchr::memchr(b'\\', decoded).is_some();
        let percent = memchr::memchr(b'%', decoded).is_some();
        if !backslash && !percent {
            break;
        }
        let before = decoded.len();
        // Each step writes into `temp`, then the buffers swap.
        if backslash {
            temp.clear();
            unescape_backslashes(decoded, temp);
            std::mem::swap(decoded, temp);
        }
        if percent {
            temp.clear();
            temp.extend(percent_encoding::percent_decode(decoded));
            std::mem::swap(decoded, temp);
        }
        // Both steps only shrink the text, and only when they decode something.
        if decoded.len() == before {
            break;
        }
    }
    decoded
}

/// `\xHH` → the byte, `\\` → `\`, `\"` → `"`; anything else is copied.
fn unescape_backslashes(from: &[u8], to: &mut Vec<u8>) {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'\\', &from[i..]) {
        to.extend_from_slice(&from[i..i + off]);
        i += off;
        match from.get(i + 1) {
            Some(b'x' | b'X') => match (
                from.get(i + 2).and_then(|&b| hex(b)),
                from.get(i + 3).and_then(|&b| hex(b)),
            ) {
                (Some(h), Some(l)) => {
                    to.push(h << 4 | l);
                    i += 4;
                }
                _ => {
                    to.push(b'\\');
                    i += 1;
                }
            },
            Some(&c @ (b'\\' | b'"')) => {
                to.push(c);
                i += 2;
            }
            _ => {
                to.push(b'\\');
                i += 1;
            }
        }
    }
    to.extend_from_slice(&from[i..]);
}
