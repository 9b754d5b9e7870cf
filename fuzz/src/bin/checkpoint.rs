//! The AFL++ binary of target `checkpoint` (persistent mode): see [`logenrich_fuzz::checkpoint`].

fn main() {
    logenrich_fuzz::warm_up("checkpoint");
    afl::fuzz!(|data: &[u8]| {
        logenrich_fuzz::checkpoint::run(data);
    });
}
