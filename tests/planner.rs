//! The offline capacity planner on the shared 2-D vector bin packing set
//! (`../shared/data/vbp/`, skipped when absent): never below the best known lower bound, and
//! within one bin of the best known packing on at least 90 % of the 80 instances.

use std::collections::BTreeMap;
use std::path::Path;

use stowplan::planner::{self, Options, Problem};

fn shared(relative: &str) -> Option<String> {
    let path = format!("{}/../shared/{relative}", env!("CARGO_MANIFEST_DIR"));
    if Path::new(&path).exists() {
        Some(path)
    } else {
        println!("skipped: {relative} not found");
        None
    }
}

fn parse(text: &str) -> Problem {
    Problem::from_vbp_text(text).unwrap()
}

#[test]
fn planner_vbp_within_one_bin_of_best_upper_on_90_percent_never_below_best_lower() {
    let Some(bounds_path) = shared("data/vbp/bounds.tsv") else {
        return;
    };
    let Some(dir) = shared("data/vbp/caprara_toth_2dvpp") else {
        return;
    };
    let bounds = std::fs::read_to_string(bounds_path).unwrap();
    let mut lines = bounds.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (lower, upper) = (column("best_lower"), column("best_upper"));
    let mut best: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for line in lines {
        let fields: Vec<&str> = line.split('\t').collect();
        best.insert(
            fields[0].to_owned(),
            (
                fields[lower].parse().unwrap(),
                fields[upper].parse().unwrap(),
            ),
        );
    }
    let (mut n_files, mut within_one) = (0, 0);
    for (name, &(best_lower, best_upper)) in &best {
        let text = std::fs::read_to_string(format!("{dir}/{name}.txt")).unwrap();
        let problem = parse(&text);
        let packing = planner::pack(&problem, &Options::default()).unwrap();
        // Every item once, no bin over capacity.
        let mut seen = vec![false; problem.items.len()];
        for bin in packing.bins() {
            let (mut cpu, mut memory) = (0, 0);
            for &item in bin {
                assert!(!std::mem::replace(&mut seen[item], true));
                cpu += problem.items[item].cpu;
                memory += problem.items[item].memory;
            }
            assert!(cpu <= problem.capacity.cpu && memory <= problem.capacity.memory);
        }
        assert!(seen.iter().all(|&s| s), "{name}: an item was not packed");
        assert!(
            packing.n_bins() >= best_lower,
            "{name}: {} bins is below the proven lower bound {best_lower}",
            packing.n_bins()
        );
        n_files += 1;
        if packing.n_bins() <= best_upper + 1 {
            within_one += 1;
        }
    }
    assert_eq!(n_files, 80);
    assert!(
        within_one * 10 >= n_files * 9,
        "within one bin of best_upper on {within_one} of {n_files}"
    );
}
