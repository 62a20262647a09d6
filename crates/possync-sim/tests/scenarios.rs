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
        total.add(&run(seed));
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
    assert!(
        total.landed_failed_commits > 0 && total.failed_reads > 0 && total.sessions_closed > 0,
        "{total:?}"
    );
    assert!(
        total.impersonations_refused > 0 && total.http_ops > 0 && total.store_reads > 0,
        "{total:?}"
    );
}

/// A store holding a hundred thousand finished orders: the node loads none of
/// them, its caches stay small, and every question about them goes to the store.
#[test]
fn a_long_history_stays_in_the_store() {
    let mut total = Report::default();
    for seed in [7_000, 7_001, 7_002] {
        let scenario = Scenario {
            history_orders: 100_000,
            ..Scenario::new(seed)
        };
        let outcome = std::panic::catch_unwind(|| Simulation::new(scenario).run());
        match outcome {
            Ok(report) => total.add(&report),
            Err(panic) => {
                eprintln!("simulation with a long history failed: seed {seed}");
                std::panic::resume_unwind(panic)
            }
        }
    }
    assert!(total.store_reads > 0 && total.acks > 0, "{total:?}");
}
