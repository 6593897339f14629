//! The fuzz targets (`fuzz/`, cargo-fuzz, nightly) run here on the stable toolchain,
//! bounded, so CI exercises them: every seed of `fuzz/corpus/<target>/`, plus
//! `MUTATIONS` deterministic mutations of each (bit flips, byte changes, cuts,
//! splices), plus random inputs for the state machine. Any input that once crashed a
//! target belongs in its corpus directory, which makes it a regression test here.

#[path = "../../fuzz/common/targets.rs"]
mod targets;

use std::path::Path;

/// Mutations tried per seed.
const MUTATIONS: usize = 1000;

/// xorshift64*: deterministic, so a failure here reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    let seeds: Vec<_> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds
}

fn mutate(rng: &mut Rng, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut input = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(5) {
            0 if !input.is_empty() => {
                let at = rng.below(input.len());
                input[at] ^= 1 << rng.below(8);
            }
            1 if !input.is_empty() => {
                let at = rng.below(input.len());
                input[at] = [0, 0xff, 0x7f, 0x80, rng.next() as u8][rng.below(5)];
            }
            2 => input.truncate(rng.below(input.len() + 1)),
            3 => {
                let at = rng.below(input.len() + 1);
                let from = rng.below(other.len() + 1);
                input.splice(at..at, other[from..].iter().copied().take(64));
            }
            _ => {
                let at = rng.below(input.len() + 1);
                input.insert(at.min(input.len()), rng.next() as u8);
            }
        }
    }
    input
}

fn run(target: &str, check: fn(&[u8])) {
    let seeds = seeds(target);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ target.len() as u64);
    for (i, seed) in seeds.iter().enumerate() {
        check(seed);
        let other = &seeds[(i + 1) % seeds.len()];
        for _ in 0..MUTATIONS {
            check(&mutate(&mut rng, seed, other));
        }
    }
}

#[test]
fn frame_request() {
    run("frame_request", targets::frame_request);
}

#[test]
fn connect_request() {
    run("connect_request", targets::connect_request);
}

#[test]
fn txn_codec() {
    run("txn_codec", targets::txn_codec);
}

#[test]
fn snapshot_read() {
    run("snapshot_read", targets::snapshot_read);
}

#[test]
fn zoo_cfg() {
    run("zoo_cfg", targets::zoo_cfg);
}

#[test]
fn zookeeper_files() {
    run("zookeeper_files", targets::zookeeper_files);
}

#[test]
fn log_segments() {
    run("log_segments", targets::log_segments);
}

#[test]
fn snapshot_file() {
    run("snapshot_file", targets::snapshot_file);
}

#[test]
fn state_machine() {
    run("state_machine", targets::state_machine);
    let mut rng = Rng(42);
    for _ in 0..300 {
        let input: Vec<u8> = (0..rng.below(400)).map(|_| rng.next() as u8).collect();
        targets::state_machine(&input);
    }
}
