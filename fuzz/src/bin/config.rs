//! The AFL++ binary of target `config` (persistent mode): see [`logenrich_fuzz::config`].

fn main() {
    logenrich_fuzz::warm_up("config");
    afl::fuzz!(|data: &[u8]| {
        logenrich_fuzz::config::run(data);
    });
}
