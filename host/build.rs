//! Builds the guest component for `wasm32-wasip2` so the runner can embed it.
//!
//! A nested cargo builds the `guest` package with the `guest` profile into its own target
//! directory (`<target>/guest-wasm`): sharing the outer build's directory would deadlock
//! on its lock. The nested cargo must not inherit the outer build's environment (flags,
//! target, profile), which would break the wasm link.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Variables of the outer build that the nested cargo must not see.
const STRIP_EXACT: &[&str] = &[
    "TARGET",
    "HOST",
    "OUT_DIR",
    "PROFILE",
    "OPT_LEVEL",
    "DEBUG",
    "NUM_JOBS",
    "RUSTFLAGS",
    "RUSTDOCFLAGS",
];
/// `CARGO_*` variables the nested cargo keeps.
const KEEP_CARGO: &[&str] = &["CARGO_HOME", "CARGO_MAKEFLAGS", "CARGO_NET_OFFLINE"];

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest_dir
        .parent()
        .expect("host/ is inside the workspace")
        .to_path_buf();
    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|d| if d.is_absolute() { d } else { root.join(d) })
        .unwrap_or_else(|| root.join("target"))
        .join("guest-wasm");

    for path in [
        "guest/src",
        "guest/Cargo.toml",
        "wit",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(path).display());
    }
    println!("cargo:rerun-if-env-changed=LOGENRICH_GUEST_WASM");

    let wasm = match env::var_os("LOGENRICH_GUEST_WASM") {
        Some(prebuilt) => PathBuf::from(prebuilt),
        None => build_guest(&root, &target_dir),
    };
    println!("cargo:rustc-env=LOGENRICH_GUEST_WASM={}", wasm.display());
}

fn build_guest(root: &Path, target_dir: &Path) -> PathBuf {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    // `rustc --crate-type cdylib` rather than `build`: the guest is also an rlib (for its
    // native tests and the bench), and cargo silently skips the profile's LTO for a crate
    // that builds an rlib; with LTO the component runs ~8 % faster.
    cmd.current_dir(root)
        .args(["rustc", "-p", "guest", "--lib", "--crate-type=cdylib"])
        .args(["--target=wasm32-wasip2", "--profile=guest", "--target-dir"])
        .arg(target_dir);
    for (key, _) in env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let strip = STRIP_EXACT.contains(&key)
            || key.starts_with("RUSTC")
            || (key.starts_with("CARGO_") && !KEEP_CARGO.contains(&key))
            || key.starts_with("DEP_");
        if strip {
            cmd.env_remove(key);
        }
    }
    // wasm SIMD lets memchr and aho-corasick use their vector search inside the guest;
    // wasmtime enables the proposal by default.
    cmd.env("CARGO_ENCODED_RUSTFLAGS", "-Ctarget-feature=+simd128");
    let status = cmd.status().expect("cannot run cargo to build the guest");
    if !status.success() {
        panic!(
            "building the guest component failed ({status}); is the target installed? \
             run `rustup target add wasm32-wasip2`"
        );
    }
    target_dir.join("wasm32-wasip2/guest/guest.wasm")
}
