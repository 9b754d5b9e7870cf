//! The AFL++ binary of target `dns_answer` (persistent mode): see [`logenrich_fuzz::dns_answer`].

fn main() {
    logenrich_fuzz::warm_up("dns_answer");
    afl::fuzz!(|data: &[u8]| {
        logenrich_fuzz::dns_answer::run(data);
    });
}
