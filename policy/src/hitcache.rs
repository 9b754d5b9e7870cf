//! The attack hits of field values seen in earlier batches, encoded as JSON, so that a
//! request or Referer that comes back (honeypot probes repeat across a whole log) costs a
//! hash lookup instead of a scan.
//!
//! A cache belongs to one [`Filter`](crate::settings::Filter): new settings start an
//! empty one. It is bounded in two generations (the way a two-handed clock approximates
//! LRU): values go into the young one; a value found in the old one is copied to the
//! young one; when the young one holds [`GENERATION`] values or [`GENERATION_BYTES`]
//! bytes, it becomes the old one and the previous old one is emptied and reused. So at
//! most two generations' worth is held, and whatever is still in use survives a
//! turnover. A value longer than [`MAX_VALUE`] is not kept (long requests are rarely
//! repeated and would crowd the budget). Values seen only once are not kept at all (see
//! [`HitCache::admit`]).
//!
//! The table is hashbrown's [`HashTable`], keyed by the FxHash of the text and compared
//! a word at a time (see [`same`]); a generation's texts and hits share one buffer, so
//! keeping a value allocates nothing in the steady state.

use std::cell::{RefCell, RefMut};
use std::hash::{BuildHasher, Hash, Hasher};

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use crate::attacks::Field;

/// Values per generation.
pub const GENERATION: usize = 8192;
/// Bytes of text and hits per generation.
pub const GENERATION_BYTES: usize = 2 << 20;
/// The longest value kept, in bytes.
pub const MAX_VALUE: usize = 512;
/// Bits of the doorkeeper (see [`HitCache::admit`]).
const DOOR_BITS: usize = 1 << 16;

/// One cached value: where its text and then its hits' JSON are in its generation's
/// bytes.
#[derive(Debug, Clone, Copy)]
struct Entry {
    hash: u64,
    field: Field,
    start: u32,
    text: u32,
    hits: u32,
}

/// One generation: a table of entries and one buffer of their bytes, so that keeping a
/// value costs no allocation of its own, and a turnover reuses both.
#[derive(Debug, Default)]
struct Generation {
    table: HashTable<Entry>,
    bytes: Vec<u8>,
}

impl Generation {
    fn text(&self, e: &Entry) -> &[u8] {
        let start = e.start as usize;
        &self.bytes[start..start + e.text as usize]
    }

    fn hits(&self, e: &Entry) -> &[u8] {
        let start = (e.start + e.text) as usize;
        &self.bytes[start..start + e.hits as usize]
    }

    fn find(&self, hash: u64, field: Field, text: &str) -> Option<&Entry> {
        self.table.find(hash, |e| {
            e.hash == hash && e.field == field && same(self.text(e), text.as_bytes())
        })
    }

    fn push(&mut self, hash: u64, field: Field, text: &[u8], hits: &[u8]) {
        // Values are at most MAX_VALUE bytes and a generation GENERATION_BYTES (plus
        // one value): offsets fit in u32.
        let len = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let entry = Entry {
            hash,
            field,
            start: len(self.bytes.len()),
            text: len(text.len()),
            hits: len(hits.len()),
        };
        self.bytes.extend_from_slice(text);
        self.bytes.extend_from_slice(hits);
        self.table.insert_unique(hash, entry, |e| e.hash);
    }

    fn clear(&mut self) {
        self.table.clear();
        self.bytes.clear();
    }
}

/// The cache (see the module documentation).
#[derive(Debug)]
pub struct HitCache {
    young: Generation,
    old: Generation,
    /// One bit per hash of a value seen once and not kept (see [`Self::admit`]).
    door: Box<[u64]>,
    /// Bits set in `door` since it was cleared.
    door_set: usize,
}

impl Default for HitCache {
    fn default() -> Self {
        Self {
            young: Generation::default(),
            old: Generation::default(),
            door: vec![0; DOOR_BITS / 64].into_boxed_slice(),
            door_set: 0,
        }
    }
}

impl HitCache {
    /// The hash under which a field's value is looked up.
    pub fn hash(field: Field, text: &str) -> u64 {
        let mut h = FxBuildHasher.build_hasher();
        (field as u8).hash(&mut h);
        text.hash(&mut h);
        h.finish()
    }

    /// The encoded hits of `text` as `field`, when cached (`hash` from [`Self::hash`]).
    pub fn get(&mut self, hash: u64, field: Field, text: &str) -> Option<&[u8]> {
        if self.young.find(hash, field, text).is_none() {
            let old = *self.old.find(hash, field, text)?;
            // Still in use: copied into the young generation (the old copy goes at the
            // next turnover).
            let hits = self.old.hits(&old).to_vec();
            self.insert(hash, field, text, &hits);
        }
        let e = self.young.find(hash, field, text)?;
        Some(self.young.hits(e))
    }

    /// Remembers the encoded hits of `text` as `field` (not when it is too long).
    pub fn insert(&mut self, hash: u64, field: Field, text: &str, hits: &[u8]) {
        if text.len() > MAX_VALUE {
            return;
        }
        if self.young.table.len() >= GENERATION || self.young.bytes.len() >= GENERATION_BYTES {
            std::mem::swap(&mut self.young, &mut self.old);
            self.young.clear();
        }
        self.young.push(hash, field, text.as_bytes(), hits);
    }

    /// Remembers a value the second time it is offered: a value seen once in a log (a
    /// request with a unique query string) is only marked in a bitmap, so such values
    /// neither cost an allocation nor push repeated ones out (TinyLFU's doorkeeper). The
    /// bitmap is cleared once an eighth of it is set: about one new value in sixteen is
    /// let in by mistake.
    pub fn admit(&mut self, hash: u64, field: Field, text: &str, hits: &[u8]) {
        // The table uses the hash's low bits; the doorkeeper takes its high ones.
        let bit = (hash >> 32) as usize % DOOR_BITS;
        let (word, mask) = (bit / 64, 1u64 << (bit % 64));
        if self.door[word] & mask != 0 {
            self.insert(hash, field, text, hits);
            return;
        }
        if self.door_set >= DOOR_BITS / 8 {
            self.door.fill(0);
            self.door_set = 0;
        }
        self.door[word] |= mask;
        self.door_set += 1;
    }

    /// The number of values held (both generations).
    pub fn len(&self) -> usize {
        self.young.table.len() + self.old.table.len()
    }

    /// Nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A filter's cache: shared by the batches run with it; a clone starts empty.
#[derive(Debug, Default)]
pub struct SharedHitCache(RefCell<HitCache>);

impl Clone for SharedHitCache {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl SharedHitCache {
    /// The cache, unless a batch is using it already.
    pub fn borrow(&self) -> Option<RefMut<'_, HitCache>> {
        self.0.try_borrow_mut().ok()
    }
}

/// `a == b`, comparing `u64` words (the last word overlaps the one before it). The
/// guest's `memcmp` (compiler-builtins on wasm32) compares a byte at a time: comparing
/// memo keys with it was 6 % of the component's time on the bench corpus (perf).
pub fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let word = |s: &[u8], at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[at..at + 8]);
        u64::from_ne_bytes(w)
    };
    let last = a.len() - 8;
    (0..last).step_by(8).all(|at| word(a, at) == word(b, at)) && word(a, last) == word(b, last)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn put(c: &mut HitCache, field: Field, text: &str, hits: &str) {
        c.insert(HitCache::hash(field, text), field, text, hits.as_bytes());
    }

    fn get(c: &mut HitCache, field: Field, text: &str) -> Option<String> {
        c.get(HitCache::hash(field, text), field, text)
            .map(|h| String::from_utf8(h.to_vec()).unwrap())
    }

    #[test]
    fn a_value_is_found_under_its_field_only() {
        let mut c = HitCache::default();
        put(
            &mut c,
            Field::Request,
            "GET /.env HTTP/1.1",
            "{\"rule\":\"dotenv\"}",
        );
        assert_eq!(
            get(&mut c, Field::Request, "GET /.env HTTP/1.1").as_deref(),
            Some("{\"rule\":\"dotenv\"}")
        );
        assert_eq!(get(&mut c, Field::Referer, "GET /.env HTTP/1.1"), None);
        assert_eq!(get(&mut c, Field::Request, "GET /.env HTTP/1.0"), None);
    }

    #[test]
    fn it_is_bounded_and_keeps_what_is_in_use() {
        let mut c = HitCache::default();
        put(&mut c, Field::Request, "hot", "");
        for i in 0..3 * GENERATION {
            put(&mut c, Field::Request, &format!("GET /{i}"), "");
            // Used all along: moved to the young generation whenever it got old.
            assert_eq!(get(&mut c, Field::Request, "hot").as_deref(), Some(""));
        }
        assert!(c.len() <= 2 * GENERATION + 1, "{}", c.len());
        assert_eq!(get(&mut c, Field::Request, "GET /0"), None, "evicted");
        let last = format!("GET /{}", 3 * GENERATION - 1);
        assert_eq!(get(&mut c, Field::Request, &last).as_deref(), Some(""));
    }

    #[test]
    fn a_value_is_admitted_the_second_time() {
        let mut c = HitCache::default();
        let admit = |c: &mut HitCache, text: &str| {
            c.admit(
                HitCache::hash(Field::Request, text),
                Field::Request,
                text,
                b"",
            );
        };
        admit(&mut c, "GET /?q=1");
        assert_eq!(get(&mut c, Field::Request, "GET /?q=1"), None);
        admit(&mut c, "GET /?q=1");
        assert_eq!(
            get(&mut c, Field::Request, "GET /?q=1").as_deref(),
            Some("")
        );
        // A log of distinct values: the doorkeeper is cleared as it fills, so few of
        // them are kept (1 in 16 expected).
        for i in 0..DOOR_BITS {
            admit(&mut c, &format!("GET /?q={i}x"));
        }
        assert!(c.len() < DOOR_BITS / 10, "{} kept", c.len());
    }

    #[test]
    fn long_values_and_many_bytes_stay_bounded() {
        let mut c = HitCache::default();
        let long = "x".repeat(MAX_VALUE + 1);
        put(&mut c, Field::Request, &long, "");
        assert_eq!(get(&mut c, Field::Request, &long), None);
        let big = "y".repeat(MAX_VALUE - 8);
        for i in 0..4 * GENERATION_BYTES / MAX_VALUE {
            put(&mut c, Field::Request, &format!("{big}{i:08}"), "");
        }
        let held = c.young.bytes.len() + c.old.bytes.len();
        assert!(held <= 2 * GENERATION_BYTES + MAX_VALUE, "{held}");
    }

    proptest! {
        #[test]
        fn same_is_slice_equality(
            a in proptest::collection::vec(0u8..4, 0..40),
            b in proptest::collection::vec(0u8..4, 0..40),
        ) {
            prop_assert_eq!(same(&a, &b), a == b);
            prop_assert!(same(&a, &a.clone()));
        }
    }
}
