//! The AFL++ binary of target `cymru` (persistent mode): see [`logenrich_fuzz::cymru`].

fn main() {
    logenrich_fuzz::warm_up("cymru");
    afl::fuzz!(|data: &[u8]| {
        logenrich_fuzz::cymru::run(data);
    });
}
