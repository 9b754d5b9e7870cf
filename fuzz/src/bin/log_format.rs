//! The AFL++ binary of target `log_format` (persistent mode): see [`logenrich_fuzz::log_format`].

fn main() {
    logenrich_fuzz::warm_up("log_format");
    afl::fuzz!(|data: &[u8]| {
        logenrich_fuzz::log_format::run(data);
    });
}
