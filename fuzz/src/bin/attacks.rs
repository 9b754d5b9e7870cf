//! The AFL++ binary of target `attacks` (persistent mode): see [`logenrich_fuzz::attacks`].

fn main() {
    logenrich_fuzz::warm_up("attacks");
    afl::fuzz!(|data: &[u8]| {
        logenrich_fuzz::attacks::run(data);
    });
}
