//! Builds the guest component so the runner can embed it.
//!
//! A nested cargo builds the `guest` package for `wasm32-unknown-unknown` with the `guest`
//! profile into its own target directory (`<target>/guest-wasm`): sharing the outer
//! build's directory would deadlock on its lock. The nested cargo must not inherit the
//! outer build's environment (flags, target, profile), which would break the wasm link.
//!
//! `wit-component` then wraps the core module into a component, using the WIT that
//! wit-bindgen embedded in it. Built this way (rather than for `wasm32-wasip2`, whose std
//! runtime pulls in `wasi:cli` and `wasi:io`), the component imports only our four
//! interfaces (`dns`, `dnsbl`, `geoip`, `cymru`) and their shared `types`.
//!
//! The build has no side effects outside its target directory: the wasm target comes from
//! `rust-toolchain.toml` (rustup installs it with the toolchain) or `.ci/run`; when it is
//! missing the build fails and says how to add it.

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
        "types/src",
        "types/Cargo.toml",
        "guest/src",
        "policy/src",
        "policy/Cargo.toml",
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

/// The target the guest is built for.
const GUEST_TARGET: &str = "wasm32-unknown-unknown";

/// Fails the build, saying how to fix it, when the toolchain lacks the guest's target.
fn require_target() {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let libdir = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", GUEST_TARGET])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if !libdir.is_some_and(|dir| dir.is_dir()) {
        panic!(
            "the Rust toolchain lacks the {GUEST_TARGET} target that the logenrich component is \
             built for; add it with `rustup target add {GUEST_TARGET}` (rust-toolchain.toml \
             lists it, but rustup adds a file's targets only to a toolchain it installs)"
        );
    }
}

fn build_guest(root: &Path, target_dir: &Path) -> PathBuf {
    require_target();
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args(["build", "-p", "guest", "--lib"])
        .arg(format!("--target={GUEST_TARGET}"))
        .args(["--profile=guest", "--target-dir"])
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
    // wasm SIMD: memchr's vector search and the attack literals' Teddy-style filter
    // (policy/src/attacks_teddy_lanes.rs) use `simd128` inside the guest; wasmtime enables
    // the proposal by default.
    cmd.env("CARGO_ENCODED_RUSTFLAGS", "-Ctarget-feature=+simd128");
    let status = cmd.status().expect("cannot run cargo to build the guest");
    if !status.success() {
        panic!(
            "building the guest component failed ({status}); is the target installed? \
             run `rustup target add wasm32-unknown-unknown`"
        );
    }
    let module_path = target_dir.join(GUEST_TARGET).join("guest/guest.wasm");
    let module = std::fs::read(&module_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", module_path.display()));
    let component = wit_component::ComponentEncoder::default()
        .validate(true)
        .module(&module)
        .and_then(|encoder| encoder.encode())
        .unwrap_or_else(|e| {
            panic!(
                "cannot make a component of {}: {e:?}",
                module_path.display()
            )
        });
    let out = target_dir.join("logenrich-filter.wasm");
    std::fs::write(&out, component)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
    out
}
