//! The AFL++ binary of target `batch` (persistent mode): see [`logenrich_fuzz::batch`].

fn main() {
    logenrich_fuzz::warm_up("batch");
    afl::fuzz!(|data: &[u8]| {
        logenrich_fuzz::batch::run(data);
    });
}
