//! Parse + validate throughput over the shared task-definition corpus.
//!
//! ```text
//! cargo bench --bench validate
//! ```

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn corpus() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/taskdefs");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .collect()
}

fn parse_and_validate(c: &mut Criterion) {
    let texts = corpus();
    if texts.is_empty() {
        eprintln!("skipped: ../shared/corpus is absent");
        return;
    }
    // Check what is measured before timing it: every corpus file validates without error.
    for text in &texts {
        let value = stowplan::json::parse(text).expect("corpus files are JSON");
        assert!(stowplan::validate::validate_json(&value).is_ok());
    }
    let mut group = c.benchmark_group("taskdef");
    group.throughput(Throughput::Elements(texts.len() as u64));
    group.bench_function("parse+validate corpus", |b| {
        b.iter(|| {
            let mut errors = 0usize;
            for text in &texts {
                let value = stowplan::json::parse(text).expect("corpus files are JSON");
                errors += usize::from(!stowplan::validate::validate_json(&value).is_ok());
            }
            errors
        })
    });
    group.finish();
}

criterion_group!(benches, parse_and_validate);
criterion_main!(benches);
