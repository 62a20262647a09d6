//! Runs the simulation over fixed seeds. A failure names its seed; replay it with
//! `POSSYNC_SIM_SEED=<seed> cargo test -p possync-sim --release`.

use possync_sim::{Report, Scenario, Simulation};

fn run(seed: u64) -> Report {
    let outcome = std::panic::catch_unwind(|| Simulation::new(Scenario::new(seed)).run());
    match outcome {
        Ok(report) => report,
        Err(panic) => {
            eprintln!(
                "simulation failed: replay with POSSYNC_SIM_SEED={seed} cargo test -p possync-sim"
            );
            std::panic::resume_unwind(panic)
        }
    }
}

#[test]
fn fixed_seeds_converge_without_loss() {
    let seeds: Vec<u64> = match std::env::var("POSSYNC_SIM_SEED") {
        Ok(seed) => vec![seed.parse().expect("POSSYNC_SIM_SEED is a number")],
        Err(_) => {
            let count = std::env::var("POSSYNC_SIM_SEEDS")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(1_000);
            (0..count).collect()
        }
    };
    let mut total = Report::default();
    for seed in seeds {
        let report = run(seed);
        total.ops_sent += report.ops_sent;
        total.acks += report.acks;
        total.duplicates += report.duplicates;
        total.rejects += report.rejects;
        total.restarts += report.restarts;
        total.disconnects += report.disconnects;
        total.failed_commits += report.failed_commits;
        total.orders_paid += report.orders_paid;
    }
    eprintln!("{total:?}");
    // The faults and the interesting paths really happened.
    assert!(
        total.acks > 0 && total.duplicates > 0 && total.rejects > 0,
        "{total:?}"
    );
    assert!(
        total.restarts > 0 && total.disconnects > 0 && total.failed_commits > 0,
        "{total:?}"
    );
    assert!(total.orders_paid > 0, "{total:?}");
}
