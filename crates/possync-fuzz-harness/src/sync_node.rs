//! Target `sync_node`: the sync node itself ([`possync_engine::Node`]), driven
//! by the simulation of `possync-sim` through an arbitrary interleaving of
//! actions instead of the simulation's own seeded dice.
//!
//! The input chooses the shop (one to six terminals, one or two batches in
//! flight, whether every id is looked up in the store, how many finished
//! orders the store holds) and then every step: which terminal connects,
//! makes an op, disconnects, stops reading, sends its outbox over HTTP, says
//! `hello` again, pings, sends presence, resync, garbage or an oversized
//! frame; when the server reads, when frames reach the terminals, when the
//! store answers a question or fails to, when a batch commits, fails, or
//! lands but reports failure; when time passes, the node restarts, a session
//! is closed, links change, a terminal claims another's id or floods. The
//! details (which op, which ids) come from a seed that is part of the input.
//!
//! Checked while it runs (by the simulation): a connection is told versions
//! of an order that only grow; no terminal is told about an order it could
//! never see; a terminal is never refused its own id and a rogue never let
//! in; the store never refuses a batch decided on a clean state; no panic.
//! Checked at the end, after the faults stop and everyone reconnects: the
//! shop quiesces; every terminal holds exactly the store's drafts it may see
//! (convergence), the node's drafts equal the store's; histories have no
//! gaps; no op applied twice; nothing edited after payment; nothing of a
//! session committed after it closed; no terminal acted under another's id;
//! **every acknowledged op is in the history at the version it was
//! acknowledged with** (nothing acked lost).

use arbitrary::{Arbitrary, Unstructured};
use possync_engine::Lookups;
use possync_sim::{Action, CommitFate, Report, Say, Scenario, Simulation};

/// Actions in one scenario at most: enough for many batches, failures,
/// restarts and reconnects, short enough to run a few hundred a second.
pub const ACTIONS_MAX: usize = 192;

/// The shop and its steps.
#[derive(Debug)]
pub struct NodeScenario {
    pub seed: u64,
    pub terminals: usize,
    pub batches_in_flight_max: usize,
    pub lookups_always: bool,
    pub history_orders: usize,
    pub actions: Vec<FuzzAction>,
}

/// The actions take the rest of the input, as in `apply_sequence`.
impl<'a> Arbitrary<'a> for NodeScenario {
    fn arbitrary(input: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let seed = u64::arbitrary(input)?;
        let terminals = usize::from(u8::arbitrary(input)? % 6) + 1;
        let batches_in_flight_max = usize::from(u8::arbitrary(input)? % 2) + 1;
        let lookups_always = bool::arbitrary(input)?;
        let history_orders = usize::from(u8::arbitrary(input)? % 24);
        let mut actions = Vec::new();
        while !input.is_empty() && actions.len() < ACTIONS_MAX {
            actions.push(FuzzAction::arbitrary(input)?);
        }
        Ok(NodeScenario {
            seed,
            terminals,
            batches_in_flight_max,
            lookups_always,
            history_orders,
            actions,
        })
    }
}

/// [`Action`] as the fuzzer builds it (small numbers; they wrap around).
#[derive(Debug, Clone, Copy)]
pub enum FuzzAction {
    Op {
        terminal: u8,
        kind: u8,
    },
    ServerReads(u8),
    AnswerAsk {
        nth: u8,
        fail: bool,
    },
    CommitLands,
    CommitFails,
    CommitLandsButReportsFailure,
    Deliver(u8),
    TickMillis(u16),
    TickSeconds(u8),
    Connect(u8),
    HttpOps(u8),
    Disconnect(u8),
    Resend,
    Restart,
    CloseSession,
    Impersonate,
    Flood,
    ToggleStall(u8),
    ChangeLinks,
    HelloAgain(u8),
    Ping(u8),
    Presence {
        terminal: u8,
        nth: u8,
    },
    PresenceOnUnknownOrder(u8),
    PresenceOnNothing(u8),
    Resync {
        terminal: u8,
        count: u8,
        unknown: bool,
    },
    Garbage(u8),
    TooLarge(u8),
    OpOnUnknownOrder(u8),
}

/// One byte picks the kind, weighted as a shop runs: mostly ops, reads,
/// deliveries and commits, now and then a fault, rarely a restart. (With
/// every kind equally likely, restarts and session closes came so often that
/// no order ever got paid.)
impl<'a> Arbitrary<'a> for FuzzAction {
    fn arbitrary(input: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let kind = u8::arbitrary(input)?;
        let mut byte = || u8::arbitrary(input);
        Ok(match kind {
            0..=59 => {
                let terminal = byte()?;
                FuzzAction::Op {
                    terminal,
                    kind: byte()?,
                }
            }
            60..=99 => FuzzAction::ServerReads(byte()?),
            100..=139 => FuzzAction::Deliver(byte()?),
            140..=159 => {
                let nth = byte()?;
                FuzzAction::AnswerAsk {
                    nth,
                    fail: byte()? < 40,
                }
            }
            160..=179 => FuzzAction::CommitLands,
            180..=184 => FuzzAction::CommitFails,
            185..=189 => FuzzAction::CommitLandsButReportsFailure,
            190..=199 => {
                let low = byte()?;
                FuzzAction::TickMillis(u16::from_le_bytes([low, byte()?]))
            }
            200..=202 => FuzzAction::TickSeconds(byte()?),
            203..=212 => FuzzAction::Connect(byte()?),
            213..=215 => FuzzAction::HttpOps(byte()?),
            216..=220 => FuzzAction::Disconnect(byte()?),
            221..=223 => FuzzAction::Resend,
            224 => FuzzAction::Restart,
            225 => FuzzAction::CloseSession,
            226..=227 => FuzzAction::Impersonate,
            228 => FuzzAction::Flood,
            229..=231 => FuzzAction::ToggleStall(byte()?),
            232 => FuzzAction::ChangeLinks,
            233..=234 => FuzzAction::HelloAgain(byte()?),
            235..=236 => FuzzAction::Ping(byte()?),
            237..=240 => {
                let terminal = byte()?;
                FuzzAction::Presence {
                    terminal,
                    nth: byte()?,
                }
            }
            241..=242 => FuzzAction::PresenceOnUnknownOrder(byte()?),
            243..=244 => FuzzAction::PresenceOnNothing(byte()?),
            245..=248 => {
                let terminal = byte()?;
                let count = byte()?;
                FuzzAction::Resync {
                    terminal,
                    count,
                    unknown: byte()? < 64,
                }
            }
            249..=250 => FuzzAction::Garbage(byte()?),
            251..=252 => FuzzAction::TooLarge(byte()?),
            253..=255 => FuzzAction::OpOnUnknownOrder(byte()?),
        })
    }
}

impl FuzzAction {
    pub fn action(self) -> Action {
        let say = |terminal: u8, say: Say| Action::Say {
            terminal: usize::from(terminal),
            say,
        };
        match self {
            FuzzAction::Op { terminal, kind } => Action::Op {
                terminal: usize::from(terminal),
                kind: Some(kind),
            },
            FuzzAction::ServerReads(messages) => Action::ServerReads {
                messages: usize::from(messages % 16),
            },
            FuzzAction::AnswerAsk { nth, fail } => Action::AnswerAsk {
                nth: usize::from(nth),
                fail,
            },
            FuzzAction::CommitLands => Action::Commit(CommitFate::Lands),
            FuzzAction::CommitFails => Action::Commit(CommitFate::Fails),
            FuzzAction::CommitLandsButReportsFailure => {
                Action::Commit(CommitFate::LandsButReportsFailure)
            }
            FuzzAction::Deliver(frames) => Action::Deliver {
                frames: usize::from(frames % 16),
            },
            FuzzAction::TickMillis(millis) => Action::Tick {
                millis: i64::from(millis),
            },
            FuzzAction::TickSeconds(seconds) => Action::Tick {
                millis: i64::from(seconds) * 1_000,
            },
            FuzzAction::Connect(terminal) => Action::Connect {
                terminal: usize::from(terminal),
            },
            FuzzAction::HttpOps(terminal) => Action::HttpOps {
                terminal: usize::from(terminal),
            },
            FuzzAction::Disconnect(terminal) => Action::Disconnect {
                terminal: usize::from(terminal),
            },
            FuzzAction::Resend => Action::Resend,
            FuzzAction::Restart => Action::Restart,
            FuzzAction::CloseSession => Action::CloseSession,
            FuzzAction::Impersonate => Action::Impersonate,
            FuzzAction::Flood => Action::Flood,
            FuzzAction::ToggleStall(terminal) => Action::ToggleStall {
                terminal: usize::from(terminal),
            },
            FuzzAction::ChangeLinks => Action::ChangeLinks,
            FuzzAction::HelloAgain(terminal) => say(terminal, Say::HelloAgain),
            FuzzAction::Ping(terminal) => say(terminal, Say::Ping),
            FuzzAction::Presence { terminal, nth } => say(
                terminal,
                Say::Presence {
                    nth: usize::from(nth),
                },
            ),
            FuzzAction::PresenceOnUnknownOrder(terminal) => {
                say(terminal, Say::PresenceOnUnknownOrder)
            }
            FuzzAction::PresenceOnNothing(terminal) => say(terminal, Say::PresenceOnNothing),
            FuzzAction::Resync {
                terminal,
                count,
                unknown,
            } => say(
                terminal,
                Say::Resync {
                    count: usize::from(count),
                    unknown,
                },
            ),
            FuzzAction::Garbage(terminal) => say(terminal, Say::Garbage),
            FuzzAction::TooLarge(terminal) => say(terminal, Say::TooLarge),
            FuzzAction::OpOnUnknownOrder(terminal) => say(terminal, Say::OpOnUnknownOrder),
        }
    }
}

impl NodeScenario {
    /// The simulation's scenario with its own dice silenced: every fault
    /// comes from the actions.
    fn simulation(&self) -> Scenario {
        Scenario {
            seed: self.seed,
            steps: 0,
            terminals: self.terminals,
            disconnect_per_mille: 0,
            restart_per_mille: 0,
            commit_failure_per_mille: 0,
            landed_per_mille_of_failures: 0,
            read_failure_per_mille: 0,
            duplicate_per_mille: 0,
            close_session_per_mille: 0,
            impersonation_per_mille: 0,
            flood_per_mille: 0,
            stall_per_mille: 0,
            garbage_per_mille: 0,
            link_change_per_mille: 0,
            history_orders: self.history_orders,
            batches_in_flight_max: self.batches_in_flight_max,
            lookups: if self.lookups_always {
                Lookups::Always
            } else {
                Lookups::FreshIdsSkipStore
            },
        }
    }

    /// Runs the scenario and checks it; panics on any broken invariant.
    pub fn run(&self) -> Report {
        let mut simulation = Simulation::new(self.simulation());
        simulation.start();
        for action in &self.actions {
            simulation.act(action.action());
        }
        simulation.finish()
    }
}

/// The fuzz target: bytes that describe no scenario are skipped.
pub fn check_sync_node(data: &[u8]) {
    let _ = run_sync_node(data);
}

/// Runs the scenario the bytes describe, if any, and says what happened.
pub fn run_sync_node(data: &[u8]) -> Option<Report> {
    let scenario = NodeScenario::arbitrary(&mut Unstructured::new(data)).ok()?;
    Some(scenario.run())
}
