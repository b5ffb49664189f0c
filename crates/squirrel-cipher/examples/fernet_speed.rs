//! A quick throughput probe for `bench/fernet.sh`: Fernet encrypt and
//! decrypt at 100 B, 1 KiB, 64 KiB and 1 MiB, one line per size and
//! operation: `<op> <bytes> <MB/s>` (MB = 10^6 bytes, the unit of
//! `openssl speed`). Each figure is the best of 5 rounds of about 0.2 s, so
//! that a busy neighbour on the machine does not drag it down.
//! The criterion bench (`cargo bench -p squirrel-cipher`) is the careful one.

use squirrel_cipher::fernet::{Fernet, Key};
use std::hint::black_box;
use std::time::{Duration, Instant};

const SIZES: [usize; 4] = [100, 1024, 64 * 1024, 1024 * 1024];

/// Best throughput in MB/s of `op` over `size` bytes.
fn measure(size: usize, mut op: impl FnMut()) -> f64 {
    // Calibrate a batch that lasts about 0.2 s.
    let mut iters = 1u64;
    loop {
        let start = Instant::now();
        for _ in 0..iters {
            op();
        }
        if start.elapsed() > Duration::from_millis(50) {
            break;
        }
        iters *= 2;
    }
    iters *= 4;
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..iters {
            op();
        }
        best = best.min(start.elapsed().as_secs_f64() / iters as f64);
    }
    size as f64 / best / 1e6
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fernet = Fernet::new(Key::generate()?);
    for size in SIZES {
        let plaintext = vec![0x5au8; size];
        let token = fernet.encrypt(&plaintext)?;
        let enc = measure(size, || {
            black_box(fernet.encrypt(black_box(&plaintext)).ok());
        });
        let dec = measure(size, || {
            black_box(fernet.decrypt(black_box(token.as_bytes()), None).ok());
        });
        println!("encrypt {size} {enc:.1}");
        println!("decrypt {size} {dec:.1}");
    }
    Ok(())
}
