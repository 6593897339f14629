//! zoo.cfg text, read as the server reads a config file.
#![no_main]

use ferrokeeper::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    thread_local! {
        static PATH: std::path::PathBuf = std::env::temp_dir()
            .join(format!("ferrokeeper-fuzz-zoo-{}.cfg", std::process::id()));
    }
    PATH.with(|path| {
        std::fs::write(path, data).expect("write temp zoo.cfg");
        let _ = Config::from_file(path);
    });
});
