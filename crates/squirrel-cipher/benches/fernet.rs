//! Fernet encrypt and decrypt throughput at the sizes of the issue: 100 B,
//! 1 KiB, 64 KiB and 1 MiB. `bench/fernet.sh` at the top of the repository
//! puts the same sizes beside Python's `cryptography` and `openssl speed`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use squirrel_cipher::fernet::{Fernet, Key};
use std::hint::black_box;

const SIZES: [usize; 4] = [100, 1024, 64 * 1024, 1024 * 1024];

fn fernet(c: &mut Criterion) {
    let fernet = Fernet::new(Key::generate().expect("a key"));
    let mut group = c.benchmark_group("fernet");
    for size in SIZES {
        let plaintext = vec![0x5au8; size];
        let token = fernet.encrypt(&plaintext).expect("encrypt");
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("encrypt", size), &plaintext, |b, p| {
            b.iter(|| fernet.encrypt(black_box(p)).expect("encrypt"))
        });
        group.bench_with_input(BenchmarkId::new("decrypt", size), &token, |b, t| {
            b.iter(|| {
                fernet
                    .decrypt(black_box(t.as_bytes()), None)
                    .expect("decrypt")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, fernet);
criterion_main!(benches);
