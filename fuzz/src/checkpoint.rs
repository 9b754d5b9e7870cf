//! Target `checkpoint`: the checkpoint file reader (`cli/src/checkpoint.rs`,
//! `Checkpoint::load`, compiled into this crate as [`crate::cli_checkpoint`]). The input
//! is written to a file and loaded; a checkpoint that loads is saved, loaded and saved
//! again, and both saves must be the same bytes (nothing is lost or changed on the way).
//!
//! The file lives in a folder of this process under `/dev/shm` (memory) when there is
//! one, else the temporary folder; it is reused from one input to the next.

use std::path::PathBuf;

use crate::cli_checkpoint::{Checkpoint, CheckpointError};

thread_local! {
    static FILE: PathBuf = {
        let base = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("logenrich-fuzz-checkpoint-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a folder for the checkpoint file");
        dir.join("checkpoint.json")
    };
}

/// Saves `checkpoint` (to `path`) and returns the bytes saved.
fn save_and_read(checkpoint: &Checkpoint, path: &PathBuf) -> Vec<u8> {
    checkpoint.save().expect("a loaded checkpoint saves");
    std::fs::read(path).expect("the saved checkpoint reads")
}

/// The target's body.
pub fn run(data: &[u8]) {
    FILE.with(|path| {
        std::fs::write(path, data).expect("the input is written");
        let checkpoint = match Checkpoint::load(path) {
            Ok(c) => c,
            Err(e) => {
                assert!(
                    matches!(
                        e,
                        CheckpointError::Invalid { .. } | CheckpointError::Read { .. }
                    ),
                    "{e}"
                );
                assert!(!e.to_string().is_empty());
                return;
            }
        };
        assert!(checkpoint.existed(), "the file was there");
        let first = save_and_read(&checkpoint, path);
        let again = Checkpoint::load(path).expect("a saved checkpoint loads");
        let second = save_and_read(&again, path);
        assert_eq!(
            String::from_utf8_lossy(&first),
            String::from_utf8_lossy(&second),
            "saving what was loaded changes nothing"
        );
    });
}
