//! possync-sim: a deterministic simulation of a shop around the real sync node.
//!
//! The server here is the real [`Node`], driven exactly as the server's actor
//! drives it: every message, store question, batch and tick goes through its
//! inputs, and its effects are carried out by a simulated network and store.
//! The terminals are the real [`TerminalState`]. One seeded random generator
//! decides everything, and time is a number the simulation moves, so a
//! failing seed replays exactly.
//!
//! Faults: messages delayed, interleaved, duplicated; connections dropped;
//! terminals that stop reading (and are closed as too slow); store reads that
//! fail; commits that fail, or land and report failure; crashes mid-commit
//! and restarts; sessions closed while ops (payments too) are in flight;
//! terminals claiming another's id; presence and resync floods; garbage
//! frames; links changed live; ops over HTTP; a history of finished orders
//! larger than every cache.
//!
//! At quiescence: every terminal equals the store for every order it may
//! see; the node equals the store; every acknowledged op is in the history
//! exactly once at its acknowledged version; histories have no gaps; no
//! order is paid twice or edited after payment; no op of a session was
//! committed after the session closed; no terminal acted under another's
//! id; no terminal was ever told about an order it could never see.

mod shop;
mod store;

pub use store::DurableStore;

use possync_core::*;
use possync_engine::freshness::Freshness;
use possync_engine::{
    AskId, Batch, CommitResult, ConnId, Effect, Frame, Lookups, Node, NodeSettings, Peer,
    RateLimit, Reload, RequestId, Source, StoreRequest, TokenKey, World,
};
use possync_protocol::{ClientMessage, CloseCode, DecodeError, OpRequest, ServerMessage};
use possync_terminal::{OpFate, TerminalState};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use shop::CONFIGS;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use uuid::Uuid;

/// How a scenario is shaped; every field has a default derived from the seed.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub seed: u64,
    pub steps: usize,
    pub terminals: usize,
    /// Probabilities per step, in thousandths.
    pub disconnect_per_mille: u32,
    pub restart_per_mille: u32,
    pub commit_failure_per_mille: u32,
    /// Of the failed commits, how many (per mille) landed anyway.
    pub landed_per_mille_of_failures: u32,
    pub read_failure_per_mille: u32,
    pub duplicate_per_mille: u32,
    pub close_session_per_mille: u32,
    pub impersonation_per_mille: u32,
    pub flood_per_mille: u32,
    pub stall_per_mille: u32,
    pub garbage_per_mille: u32,
    pub link_change_per_mille: u32,
    /// Finished orders in the store before the node starts.
    pub history_orders: usize,
    pub batches_in_flight_max: usize,
    pub lookups: Lookups,
}

impl Scenario {
    pub fn new(seed: u64) -> Self {
        Scenario {
            seed,
            steps: 300,
            terminals: 5,
            disconnect_per_mille: 15,
            restart_per_mille: 4,
            commit_failure_per_mille: 60,
            landed_per_mille_of_failures: 400,
            read_failure_per_mille: 40,
            duplicate_per_mille: 20,
            close_session_per_mille: 4,
            impersonation_per_mille: 8,
            flood_per_mille: 5,
            stall_per_mille: 6,
            garbage_per_mille: 8,
            link_change_per_mille: 4,
            history_orders: 200,
            batches_in_flight_max: 1 + (seed % 2) as usize,
            lookups: if seed.is_multiple_of(5) {
                Lookups::Always
            } else {
                Lookups::FreshIdsSkipStore
            },
        }
    }

    /// Small bounds, so that caches overflow, catch-ups are paced, queues
    /// fill, caps and rate limits are hit within a few hundred steps.
    fn node_settings(&self) -> NodeSettings {
        NodeSettings {
            lease_ms: 5_000,
            ops_per_batch_max: 16,
            batches_in_flight_max: self.batches_in_flight_max,
            frames_per_connection_max: 64,
            bytes_per_connection_max: 48 * 1024,
            catch_up_bytes_ahead_max: 3 * 1024,
            heartbeat_ms: 10_000,
            heartbeats_missed_max: 3,
            hello_deadline_ms: 10_000,
            connections_per_token_max: 2,
            drafts_per_config_max: 14,
            ops_rate: RateLimit::new(40, 20),
            presence_rate: RateLimit::new(5, 2),
            resync_rate: RateLimit::new(5, 2),
            ping_rate: RateLimit::new(5, 1),
            hello_rate: RateLimit::new(2, 1),
            invalid_rate: RateLimit::new(5, 1),
            http_ops_rate: RateLimit::new(20, 10),
            refusals_in_row_max: 40,
            messages_waiting_per_connection_max: 256,
            outcomes_cached_max: 48,
            finished_cached_max: 16,
            terminal_bindings_cached_max: 4,
            http_callers_tracked_max: 4,
            closed_sessions_remembered_max: 16,
            lookups: self.lookups,
            id_clock_skew_ms: 2_000,
        }
    }
}

/// What a run saw, for the test's message and to prove the faults happened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub ops_sent: u64,
    pub acks: u64,
    pub duplicates: u64,
    pub rejects: u64,
    pub restarts: u64,
    pub disconnects: u64,
    pub failed_commits: u64,
    pub landed_failed_commits: u64,
    pub failed_reads: u64,
    pub orders_paid: u64,
    pub sessions_closed: u64,
    pub impersonations_refused: u64,
    pub too_slow_closes: u64,
    pub http_ops: u64,
    pub store_reads: u64,
}

impl Report {
    pub fn add(&mut self, other: &Report) {
        self.ops_sent += other.ops_sent;
        self.acks += other.acks;
        self.duplicates += other.duplicates;
        self.rejects += other.rejects;
        self.restarts += other.restarts;
        self.disconnects += other.disconnects;
        self.failed_commits += other.failed_commits;
        self.landed_failed_commits += other.landed_failed_commits;
        self.failed_reads += other.failed_reads;
        self.orders_paid += other.orders_paid;
        self.sessions_closed += other.sessions_closed;
        self.impersonations_refused += other.impersonations_refused;
        self.too_slow_closes += other.too_slow_closes;
        self.http_ops += other.http_ops;
        self.store_reads += other.store_reads;
    }
}

/// How a batch's commit ends, as the store's driver reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitFate {
    Lands,
    Fails,
    /// The batch is durable, but the driver saw an error (an unknown outcome).
    LandsButReportsFailure,
}

/// A message a connected terminal sends besides its ops: right, repeated,
/// out of place or hostile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Say {
    /// `hello` again on a connection that already said it.
    HelloAgain,
    Ping,
    /// Presence on the `nth` order the terminal knows, on an order it cannot
    /// know, or on nothing.
    Presence {
        nth: usize,
    },
    PresenceOnUnknownOrder,
    PresenceOnNothing,
    /// `resync` of up to `count` orders the terminal knows (repeated), and
    /// perhaps an order that does not exist.
    Resync {
        count: usize,
        unknown: bool,
    },
    /// A frame the decoder refused: not JSON, or over the size bound.
    Garbage,
    TooLarge,
    /// An op on an order that does not exist (not a create).
    OpOnUnknownOrder,
}

/// One step of a scenario chosen from outside (the node fuzz target): who
/// acts and how; the details (which op, which ids) come from the seed.
/// Terminal numbers and positions wrap around.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A terminal makes an op (sent at once when connected); `kind` (0-99)
    /// picks which, as the simulation's own roll would: creates aside, 0-24
    /// add a line, 25-39 add quantity, 40-49 set it, 50-54 discount, 55-59
    /// remove a line, 60-64 note, 65-67 customer, 68-71 share, 72-73
    /// unshare, 74-79 begin payment, 80-82 cancel it, 83-95 pay, 96-99 cancel.
    Op {
        terminal: usize,
        kind: Option<u8>,
    },
    /// The server reads up to this many messages, interleaving connections.
    ServerReads {
        messages: usize,
    },
    /// The store answers one of the node's questions, or fails to.
    AnswerAsk {
        nth: usize,
        fail: bool,
    },
    /// The oldest batch being committed ends.
    Commit(CommitFate),
    /// Up to this many frames reach terminals that read.
    Deliver {
        frames: usize,
    },
    /// Time passes; reading terminals answer pings.
    Tick {
        millis: i64,
    },
    Connect {
        terminal: usize,
    },
    /// A disconnected terminal sends its outbox over HTTP.
    HttpOps {
        terminal: usize,
    },
    Disconnect {
        terminal: usize,
    },
    /// A terminal resends an op it already sent.
    Resend,
    Restart,
    CloseSession,
    Impersonate,
    Flood,
    /// A terminal stops reading, or reads again.
    ToggleStall {
        terminal: usize,
    },
    ChangeLinks,
    Say {
        terminal: usize,
        say: Say,
    },
}

/// A connection: what is on the wire in each direction.
#[derive(Debug, Default)]
struct Wire {
    to_server: VecDeque<Result<ClientMessage, DecodeError>>,
    to_client: VecDeque<Frame>,
    /// The node closed the connection: the terminal sees it after what is queued.
    close: Option<CloseCode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Terminal(usize),
    /// A connection claiming another terminal's id: it must be refused (4003).
    Rogue,
}

#[derive(Debug)]
struct Terminal {
    id: TerminalId,
    config_id: ConfigId,
    session_id: SessionId,
    token: TokenKey,
    state: TerminalState,
    connection: Option<ConnId>,
    stalled: bool,
    /// Every ack this terminal received: (op, order, version).
    acks: Vec<(OpId, OrderId, u64)>,
}

/// A batch with the store's driver: committing, in order.
#[derive(Debug)]
struct Committing {
    batch: Batch,
    /// A batch before it failed: this one may be refused, that is expected.
    after_a_failure: bool,
}

pub struct Simulation {
    scenario: Scenario,
    rng: StdRng,
    now: Timestamp,
    store: DurableStore,
    node: Node,
    wires: BTreeMap<ConnId, Wire>,
    owners: BTreeMap<ConnId, Owner>,
    next_conn: u64,
    next_request: u64,
    http_pending: BTreeMap<RequestId, (usize, OpRequest, bool)>,
    asks: Vec<(AskId, StoreRequest)>,
    committing: VecDeque<Committing>,
    terminals: Vec<Terminal>,
    /// The open session of each config.
    sessions: BTreeMap<ConfigId, SessionId>,
    next_session: i64,
    /// The sessions each terminal id acted in (with its own token).
    terminal_sessions: BTreeMap<TerminalId, BTreeSet<SessionId>>,
    /// Every pair of configs ever linked.
    links_ever: BTreeSet<(ConfigId, ConfigId)>,
    faults: bool,
    report: Report,
    /// The finished orders the store held before the run (stale copies come from these).
    history: Vec<(OrderId, u64)>,
    /// `POSSYNC_SIM_TRACE=<text>`: print every event whose description contains it.
    trace: Option<String>,
    /// The highest version of each order sent on each connection: versions
    /// a connection is told only grow.
    versions_sent: BTreeMap<(ConnId, OrderId), u64>,
    /// The kind of the next op, when an [`Action`] chose it.
    op_kind: Option<u32>,
}

impl std::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("seed", &self.scenario.seed)
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

fn initial_links() -> SyncLinks {
    SyncLinks::from_pairs([(ConfigId(1), ConfigId(2))])
}

impl Simulation {
    pub fn new(scenario: Scenario) -> Self {
        let mut rng = StdRng::seed_from_u64(scenario.seed);
        let now = Timestamp::from_unix_millis(1_800_000_000_000);
        let mut store = DurableStore {
            links: initial_links(),
            links_ever: initial_links(),
            configs: shop::configs(),
            catalog: shop::catalog(),
            ..DurableStore::default()
        };
        let mut history = Vec::with_capacity(scenario.history_orders);
        for n in 0..scenario.history_orders {
            let config_id = ConfigId(CONFIGS[n % CONFIGS.len()].0);
            let order_id = OrderId(Uuid::from_u128(rng.r#gen()));
            store
                .orders
                .insert(order_id, shop::finished_order(order_id, config_id, 3));
            history.push((order_id, 3));
        }
        let settings = scenario.node_settings();
        let node = Node::new(settings.clone(), Self::world(&store, &settings, now), now);
        let mut sessions = BTreeMap::new();
        for (id, _) in CONFIGS {
            sessions.insert(ConfigId(id), SessionId(id * 1_000));
        }
        let terminals = (0..scenario.terminals)
            .map(|index| {
                let config_id = ConfigId(CONFIGS[index % CONFIGS.len()].0);
                let session_id = sessions[&config_id];
                Terminal {
                    id: TerminalId(Uuid::from_u128(rng.r#gen())),
                    config_id,
                    session_id,
                    token: TokenKey::new(&format!("token-{index}-{session_id}")),
                    state: TerminalState::new(),
                    connection: None,
                    stalled: false,
                    acks: Vec::new(),
                }
            })
            .collect::<Vec<_>>();
        let mut terminal_sessions: BTreeMap<TerminalId, BTreeSet<SessionId>> = BTreeMap::new();
        for terminal in &terminals {
            terminal_sessions
                .entry(terminal.id)
                .or_default()
                .insert(terminal.session_id);
        }
        Simulation {
            scenario,
            rng,
            now,
            store,
            node,
            wires: BTreeMap::new(),
            owners: BTreeMap::new(),
            next_conn: 1,
            next_request: 1,
            http_pending: BTreeMap::new(),
            asks: Vec::new(),
            committing: VecDeque::new(),
            terminals,
            sessions,
            next_session: 1,
            terminal_sessions,
            links_ever: [(ConfigId(1), ConfigId(2))].into_iter().collect(),
            faults: true,
            report: Report::default(),
            history,
            trace: std::env::var("POSSYNC_SIM_TRACE").ok(),
            versions_sent: BTreeMap::new(),
            op_kind: None,
        }
    }

    fn trace(&self, event: impl FnOnce() -> String) {
        if let Some(filter) = &self.trace {
            let event = event();
            if event.contains(filter.as_str()) {
                eprintln!("[{}] {event}", self.now.unix_millis() - 1_800_000_000_000);
            }
        }
    }

    /// What a node starting at `now` reads from the store, as the server's
    /// `load_world` reads it.
    fn world(store: &DurableStore, settings: &NodeSettings, now: Timestamp) -> World {
        let ids = store
            .outcomes
            .keys()
            .map(|op_id| op_id.0)
            .chain(store.orders.keys().map(|order_id| order_id.0));
        let ids_at_most_ms = now.unix_millis().saturating_add(settings.id_clock_skew_ms);
        World {
            configs: store.configs.clone(),
            links: store.links.clone(),
            links_ever: store.links_ever.clone(),
            catalog: store.catalog.clone(),
            drafts: store.drafts(),
            newest_stored_id_ms: Freshness::newest_stamp_ms(ids, ids_at_most_ms),
        }
    }

    fn chance(&mut self, per_mille: u32) -> bool {
        self.faults && self.rng.gen_range(0..1000) < per_mille
    }

    /// A new id: usually a UUIDv7 stamped with the simulated clock (as the
    /// web POS makes them), sometimes a random one (always looked up).
    fn fresh_uuid(&mut self) -> Uuid {
        let random: [u8; 10] = self.rng.r#gen();
        if self.rng.gen_range(0..10) == 0 {
            return Uuid::from_u128(self.rng.r#gen());
        }
        let millis = u64::try_from(self.now.unix_millis()).unwrap_or_default();
        uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
    }

    /// Runs the scenario, then quiesces and checks. Panics with the seed on any violation.
    pub fn run(mut self) -> Report {
        self.start();
        for _ in 0..self.scenario.steps {
            self.step();
        }
        self.finish()
    }

    /// Connects every terminal: the start of [`Simulation::run`], for a
    /// driver that then chooses each [`Action`] itself.
    pub fn start(&mut self) {
        for index in 0..self.terminals.len() {
            self.connect(index);
        }
    }

    /// Stops the faults, runs until nothing moves, and checks every
    /// invariant. Panics on any violation.
    pub fn finish(mut self) -> Report {
        self.quiesce();
        self.check();
        self.report.store_reads = self.node.stats().store_reads;
        self.report
    }

    /// Carries out one action chosen from outside.
    pub fn act(&mut self, action: Action) {
        self.trace(|| format!("action {action:?}"));
        let terminals = self.terminals.len();
        match action {
            Action::Op { terminal, kind } => {
                self.op_kind = kind.map(|kind| u32::from(kind % 100));
                self.make_op(terminal % terminals);
                self.op_kind = None;
            }
            Action::ServerReads { messages } => self.server_reads(messages.max(1)),
            Action::AnswerAsk { nth, fail } => {
                if !self.asks.is_empty() {
                    self.answer_ask(nth % self.asks.len(), fail);
                }
            }
            Action::Commit(fate) => {
                let (fails, lands) = match fate {
                    CommitFate::Lands => (false, true),
                    CommitFate::Fails => (true, false),
                    CommitFate::LandsButReportsFailure => (true, true),
                };
                self.complete_commit_as(fails, lands);
            }
            Action::Deliver { frames } => self.deliver(frames.max(1)),
            Action::Tick { millis } => self.advance_time(millis.max(0)),
            Action::Connect { terminal } => self.connect(terminal % terminals),
            Action::HttpOps { terminal } => {
                if self.terminals[terminal % terminals].connection.is_none() {
                    self.send_over_http(terminal % terminals);
                }
            }
            Action::Disconnect { terminal } => self.disconnect(terminal % terminals),
            Action::Resend => self.resend_something(),
            Action::Restart => self.restart(),
            Action::CloseSession => self.close_a_session(),
            Action::Impersonate => self.impersonate(),
            Action::Flood => self.flood(),
            Action::ToggleStall { terminal } => {
                let terminal = &mut self.terminals[terminal % terminals];
                terminal.stalled = !terminal.stalled;
            }
            Action::ChangeLinks => self.change_links(),
            Action::Say { terminal, say } => self.say(terminal % terminals, say),
        }
    }

    /// Queues one non-op message (or a refused frame) from a connected terminal.
    fn say(&mut self, index: usize, say: Say) {
        let Some(conn) = self.terminals[index].connection else {
            return;
        };
        let known: Vec<OrderId> = self.terminals[index]
            .state
            .confirmed()
            .keys()
            .copied()
            .collect();
        let message = match say {
            // Built by hand: the terminal's own state does not take part.
            Say::HelloAgain => Ok(ClientMessage::Hello {
                protocol: possync_protocol::PROTOCOL_VERSION,
                terminal: self.terminals[index].id,
                known: self.terminals[index]
                    .state
                    .confirmed()
                    .iter()
                    .map(|(id, order)| (*id, order.version))
                    .collect(),
            }),
            Say::Ping => Ok(ClientMessage::Ping {
                t: serde_json::Value::from(self.rng.gen_range(0..1_000_000u64)),
            }),
            Say::Presence { nth } => Ok(ClientMessage::Presence {
                order_id: known.get(nth % known.len().max(1)).copied(),
            }),
            Say::PresenceOnUnknownOrder => Ok(ClientMessage::Presence {
                order_id: Some(OrderId(self.fresh_uuid())),
            }),
            Say::PresenceOnNothing => Ok(ClientMessage::Presence { order_id: None }),
            Say::Resync { count, unknown } => {
                let mut order_ids: Vec<OrderId> = known
                    .iter()
                    .cycle()
                    .take(count.min(possync_protocol::RESYNC_ORDERS_MAX))
                    .copied()
                    .collect();
                if unknown || order_ids.is_empty() {
                    order_ids.push(OrderId(self.fresh_uuid()));
                }
                order_ids.truncate(possync_protocol::RESYNC_ORDERS_MAX);
                Ok(ClientMessage::Resync { order_ids })
            }
            Say::Garbage => Err(DecodeError {
                code: RejectCode::Invalid,
                message: "not JSON".to_owned(),
                op: None,
            }),
            Say::TooLarge => Err(DecodeError {
                code: RejectCode::TooLarge,
                message: "frame over 65536 bytes".to_owned(),
                op: None,
            }),
            Say::OpOnUnknownOrder => Ok(ClientMessage::Op(OpRequest {
                approval: None,
                op_id: OpId(self.fresh_uuid()),
                order_id: OrderId(self.fresh_uuid()),
                op: Op::set_note(Note::parse("hello?").unwrap_or_default()),
            })),
        };
        if let Some(wire) = self.wires.get_mut(&conn) {
            wire.to_server.push_back(message);
        }
    }

    fn step(&mut self) {
        match self.rng.gen_range(0..100) {
            0..=29 => {
                let index = self.rng.gen_range(0..self.terminals.len());
                self.make_op(index);
            }
            30..=54 => self.server_step(),
            55..=62 => self.answer_some_ask(),
            63..=71 => self.complete_commit(),
            72..=93 => self.deliver_some(),
            94..=96 => {
                let millis = self.rng.gen_range(0..3_000);
                self.advance_time(millis);
            }
            _ => {
                let index = self.rng.gen_range(0..self.terminals.len());
                if self.terminals[index].connection.is_none() {
                    if self.rng.gen_bool(0.3) {
                        self.send_over_http(index);
                    } else {
                        self.connect(index);
                    }
                }
            }
        }
        if self.chance(self.scenario.disconnect_per_mille) {
            let index = self.rng.gen_range(0..self.terminals.len());
            self.disconnect(index);
        }
        if self.chance(self.scenario.duplicate_per_mille) {
            self.resend_something();
        }
        if self.chance(self.scenario.restart_per_mille) {
            self.restart();
        }
        if self.chance(self.scenario.close_session_per_mille) {
            self.close_a_session();
        }
        if self.chance(self.scenario.impersonation_per_mille) {
            self.impersonate();
        }
        if self.chance(self.scenario.flood_per_mille) {
            self.flood();
        }
        if self.chance(self.scenario.stall_per_mille) {
            let index = self.rng.gen_range(0..self.terminals.len());
            self.terminals[index].stalled = !self.terminals[index].stalled;
        }
        if self.chance(self.scenario.garbage_per_mille) {
            self.send_garbage();
        }
        if self.chance(self.scenario.link_change_per_mille) {
            self.change_links();
        }
    }

    // ----- Driving the node -----

    /// Carries out the node's effects and takes its batches, until it has nothing more.
    fn settle(&mut self) {
        loop {
            let effects = self.node.drain_effects();
            let mut progressed = !effects.is_empty();
            for effect in effects {
                self.carry_out(effect);
            }
            while let Some(batch) = self.node.next_batch() {
                let after_a_failure = false;
                self.committing.push_back(Committing {
                    batch,
                    after_a_failure,
                });
                progressed = true;
            }
            if !progressed {
                return;
            }
        }
    }

    fn carry_out(&mut self, effect: Effect) {
        self.trace(|| format!("effect {effect:?}"));
        match effect {
            Effect::Send { to, frame } => {
                for conn in to {
                    self.check_versions_grow(conn, frame.message());
                    if let Some(Owner::Terminal(index)) = self.owners.get(&conn).copied() {
                        self.check_may_learn(index, frame.message());
                    }
                    if let Some(wire) = self.wires.get_mut(&conn) {
                        wire.to_client.push_back(frame.clone());
                    }
                }
            }
            Effect::Close { conn, code } => {
                if let Some(wire) = self.wires.get_mut(&conn) {
                    wire.close = Some(code);
                }
            }
            Effect::Reply { request, answer } => {
                if let Some((index, op, impersonating)) = self.http_pending.remove(&request) {
                    if impersonating {
                        // Refused, or not decided at all (the binding could not be read).
                        assert!(
                            matches!(&answer, ServerMessage::Reject { code, .. } if *code == RejectCode::Forbidden || code.is_retryable()),
                            "seed {}: an op claiming another terminal's id was not refused: {answer:?} for {op:?}",
                            self.scenario.seed
                        );
                        self.report.impersonations_refused += 1;
                        return;
                    }
                    self.check_may_learn(index, &answer);
                    // An HTTP caller is not subscribed to the order: the
                    // order a reject carries is a snapshot no change will
                    // follow, so a terminal does not keep it as its copy.
                    let answer = match answer {
                        ServerMessage::Reject {
                            op_id,
                            order_id,
                            code,
                            message,
                            ..
                        } => ServerMessage::Reject {
                            op_id,
                            order_id,
                            code,
                            message,
                            order: None,
                        },
                        other => other,
                    };
                    self.terminal_receives(index, &answer);
                }
            }
            Effect::Ask { ask, request } => self.asks.push((ask, request)),
        }
    }

    /// What one connection is told about an order never goes back: a change
    /// follows every version sent before it, a snapshot is at least as new.
    fn check_versions_grow(&mut self, conn: ConnId, message: &ServerMessage) {
        let (order_id, version, strictly) = match message {
            ServerMessage::Order { order } => (order.id, order.version, false),
            ServerMessage::Change {
                order_id, version, ..
            } => (*order_id, *version, true),
            _ => return,
        };
        let seed = self.scenario.seed;
        let previous = self.versions_sent.entry((conn, order_id)).or_insert(0);
        assert!(
            version > *previous || (!strictly && version == *previous),
            "seed {seed}: conn {} was told version {version} of {order_id} after version {previous}: {message:?}",
            conn.0,
            previous = *previous
        );
        *previous = version;
    }

    /// PROTOCOL.md guarantee 10: a terminal is never told about an order its
    /// config could never see.
    fn check_may_learn(&self, index: usize, message: &ServerMessage) {
        let config_id = self.terminals[index].config_id;
        let order_id = match message {
            ServerMessage::Order { order } => Some(order.id),
            ServerMessage::Change { order_id, .. }
            | ServerMessage::Removed { order_id, .. }
            | ServerMessage::Presence { order_id, .. } => Some(*order_id),
            ServerMessage::Reject {
                order: Some(order), ..
            } => Some(order.id),
            _ => None,
        };
        let Some(order_id) = order_id else {
            return;
        };
        let origin = self
            .store
            .orders
            .get(&order_id)
            .map(|order| {
                (
                    order.origin.config_id,
                    order.paid_by.as_ref().map(|by| by.config_id),
                )
            })
            .or_else(|| {
                self.node
                    .draft(order_id)
                    .map(|order| (order.origin.config_id, None))
            });
        let Some((origin, paid_by)) = origin else {
            return;
        };
        let linked = self
            .links_ever
            .contains(&(origin.min(config_id), origin.max(config_id)));
        assert!(
            origin == config_id || linked || paid_by == Some(config_id),
            "seed {}: a terminal of {config_id} was told about {order_id} of {origin}: {message:?}",
            self.scenario.seed
        );
    }

    fn terminal_receives(&mut self, index: usize, message: &ServerMessage) {
        let terminal = &mut self.terminals[index];
        match terminal.state.receive(message) {
            Some(OpFate::Acked {
                op_id,
                order_id,
                version,
                duplicate,
            }) => {
                self.report.acks += 1;
                if duplicate {
                    self.report.duplicates += 1;
                }
                terminal.acks.push((op_id, order_id, version));
            }
            Some(OpFate::Rejected { code, .. }) if !code.is_retryable() => {
                self.report.rejects += 1;
            }
            Some(OpFate::Rejected { .. }) | None => {}
        }
    }

    // ----- Terminals -----

    fn peer(&self, index: usize) -> Peer {
        let terminal = &self.terminals[index];
        Peer {
            token: terminal.token.clone(),
            session: shop::session(terminal.session_id, terminal.config_id),
            config: shop::config(terminal.config_id, &self.store.links),
            role: Role::Manager,
        }
    }

    /// A terminal whose session was closed opens the config's new one (the
    /// server refuses its old token), with a new token and a new terminal id.
    fn follow_session(&mut self, index: usize) {
        let config_id = self.terminals[index].config_id;
        let open = self.sessions[&config_id];
        if self.terminals[index].session_id == open {
            return;
        }
        let new_id = TerminalId(self.fresh_uuid());
        let terminal = &mut self.terminals[index];
        terminal.session_id = open;
        terminal.token = TokenKey::new(&format!("token-{index}-{open}"));
        terminal.id = new_id;
        self.terminal_sessions
            .entry(new_id)
            .or_default()
            .insert(open);
    }

    fn connect(&mut self, index: usize) {
        if self.terminals[index].connection.is_some() {
            return;
        }
        self.follow_session(index);
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        let peer = self.peer(index);
        self.wires.insert(conn, Wire::default());
        self.owners.insert(conn, Owner::Terminal(index));
        self.trace(|| {
            format!(
                "terminal {index} of {} connects as conn {} (terminal id {})",
                self.terminals[index].config_id, conn.0, self.terminals[index].id
            )
        });
        self.node.on_connect(conn, peer, self.now);
        let terminal = &mut self.terminals[index];
        terminal.connection = Some(conn);
        terminal.stalled = false;
        let mut hello = terminal.state.hello(terminal.id);
        // Now and then a terminal names a finished order from long ago (a
        // stale copy): it is told `removed` if it may know of it, else nothing.
        if let ClientMessage::Hello { known, .. } = &mut hello
            && self.rng.gen_range(0..4) == 0
            && let Some((order_id, version)) = self.history.choose(&mut self.rng)
        {
            known.entry(*order_id).or_insert(*version);
        }
        let unsent = self.terminals[index].state.unsent();
        if let Some(wire) = self.wires.get_mut(&conn) {
            wire.to_server.push_back(Ok(hello));
            wire.to_server.extend(
                unsent
                    .into_iter()
                    .map(|request| Ok(ClientMessage::Op(request))),
            );
        }
        self.settle();
    }

    /// The connection is gone; the terminal keeps its outbox for the next one.
    fn drop_connection(&mut self, conn: ConnId) {
        self.trace(|| format!("conn {} dropped", conn.0));
        self.wires.remove(&conn);
        let owner = self.owners.remove(&conn);
        self.node.on_disconnect(conn);
        if let Some(Owner::Terminal(index)) = owner {
            let terminal = &mut self.terminals[index];
            if terminal.connection == Some(conn) {
                terminal.connection = None;
                terminal.state.disconnected();
            }
        }
        self.settle();
    }

    fn disconnect(&mut self, index: usize) {
        if let Some(conn) = self.terminals[index].connection {
            self.report.disconnects += 1;
            self.drop_connection(conn);
        }
    }

    /// A disconnected terminal sends its pending ops over HTTP.
    fn send_over_http(&mut self, index: usize) {
        self.follow_session(index);
        let requests = self.terminals[index].state.unsent();
        for request in requests {
            let terminal = &self.terminals[index];
            let source = Source {
                session_id: terminal.session_id,
                config_id: terminal.config_id,
                terminal: terminal.id,
                role: Role::Manager,
            };
            let token = terminal.token.clone();
            let request_id = RequestId(self.next_request);
            self.next_request += 1;
            self.http_pending
                .insert(request_id, (index, request.clone(), false));
            self.report.http_ops += 1;
            self.node
                .on_http_op(request_id, token, source, request, self.now);
        }
        // Unanswered ones are sent again on the next connection.
        self.terminals[index].state.disconnected();
        self.settle();
    }

    /// A terminal resends an op it already sent: the server must treat it as a duplicate.
    fn resend_something(&mut self) {
        let index = self.rng.gen_range(0..self.terminals.len());
        let terminal = &self.terminals[index];
        let Some(conn) = terminal.connection else {
            return;
        };
        let sent: Vec<OpRequest> = terminal
            .state
            .outbox()
            .iter()
            .filter(|pending| pending.sent)
            .map(|pending| pending.request.clone())
            .collect();
        if let Some(request) = sent.choose(&mut self.rng)
            && let Some(wire) = self.wires.get_mut(&conn)
        {
            wire.to_server
                .push_back(Ok(ClientMessage::Op(request.clone())));
        }
    }

    fn make_op(&mut self, index: usize) {
        let Some(request) = self.random_op(index) else {
            return;
        };
        self.report.ops_sent += 1;
        let terminal = &mut self.terminals[index];
        terminal.state.push_op(request);
        if let Some(conn) = terminal.connection {
            let unsent = terminal.state.unsent();
            if let Some(wire) = self.wires.get_mut(&conn) {
                wire.to_server.extend(
                    unsent
                        .into_iter()
                        .map(|request| Ok(ClientMessage::Op(request))),
                );
            }
        }
    }

    fn random_op(&mut self, index: usize) -> Option<OpRequest> {
        let terminal = &self.terminals[index];
        // Orders this terminal knows: confirmed ones and those it is creating.
        let mut orders: Vec<OrderId> = terminal.state.confirmed().keys().copied().collect();
        orders.extend(
            terminal
                .state
                .outbox()
                .iter()
                .filter(|pending| matches!(pending.request.op, Op::Create { .. }))
                .map(|pending| pending.request.order_id),
        );
        let op_id = OpId(self.fresh_uuid());
        if orders.is_empty() || self.rng.gen_range(0..10) == 0 {
            let share = self.rng.gen_bool(0.5);
            return Some(OpRequest {
                approval: None,
                op_id,
                order_id: OrderId(self.fresh_uuid()),
                op: Op::create_shared(share),
            });
        }
        let order_id = *orders.choose(&mut self.rng)?;
        let confirmed = self.terminals[index]
            .state
            .confirmed()
            .get(&order_id)
            .cloned();
        let line_ids: Vec<LineId> = confirmed
            .iter()
            .flat_map(|order| order.lines.iter().map(|line| line.id))
            .collect();
        let some_line = |rng: &mut StdRng| -> LineId {
            line_ids
                .choose(rng)
                .copied()
                .unwrap_or_else(|| LineId(Uuid::from_u128(rng.r#gen())))
        };
        let qty = |rng: &mut StdRng, low: i64, high: i64| {
            Quantity::from_milli(rng.gen_range(low..=high) * 500).unwrap_or(Quantity::ONE)
        };
        let kind = match self.op_kind {
            Some(kind) => kind,
            None => self.rng.gen_range(0..100),
        };
        let op = match kind {
            0..=24 => Op::add_line(
                LineId(self.fresh_uuid()),
                ProductId(self.rng.gen_range(1..=7)),
                qty(&mut self.rng, 1, 6),
            ),
            25..=39 => Op::add_qty(some_line(&mut self.rng), qty(&mut self.rng, -2, 4)),
            40..=49 => Op::set_qty(some_line(&mut self.rng), qty(&mut self.rng, 0, 8)),
            50..=54 => Op::set_discount(
                some_line(&mut self.rng),
                Discount::from_basis_points(self.rng.gen_range(0..=4) * 500).unwrap_or_default(),
            ),
            55..=59 => Op::remove_line(some_line(&mut self.rng)),
            60..=64 => Op::set_note(
                Note::parse(&format!("note {}", self.rng.gen_range(0..100))).unwrap_or_default(),
            ),
            65..=67 => Op::set_customer(self.rng.gen_bool(0.7).then_some(CustomerId(1))),
            68..=71 => Op::share(),
            72..=73 => Op::unshare(),
            74..=79 => Op::begin_payment(),
            80..=82 => Op::cancel_payment(),
            83..=95 => {
                let total = confirmed
                    .as_ref()
                    .map_or(Money::ZERO, |order| order.totals.total);
                let extra = if self.rng.gen_bool(0.5) {
                    self.rng.gen_range(0..500)
                } else {
                    0
                };
                Op::pay(
                    vec![PaymentInput {
                        method_id: PaymentMethodId(1),
                        amount: Money::new(total.minor().max(1) + extra).unwrap_or(Money::ZERO),
                    }],
                    total,
                )
            }
            _ => Op::cancel(),
        };
        Some(OpRequest {
            approval: None,
            op_id,
            order_id,
            op,
        })
    }

    // ----- Faults -----

    /// The node restarts from what the store holds. Batches being committed
    /// at the crash landed or not, at random.
    fn restart(&mut self) {
        self.trace(|| "restart".to_owned());
        self.report.restarts += 1;
        while let Some(committing) = self.committing.pop_front() {
            if self.rng.gen_bool(0.5) {
                // A refusal here is the store's own rollback: nothing landed.
                let _ = self.store.commit(&committing.batch.entries);
            }
        }
        let conns: Vec<ConnId> = self.wires.keys().copied().collect();
        for conn in conns {
            self.wires.remove(&conn);
            if let Some(Owner::Terminal(index)) = self.owners.remove(&conn) {
                let terminal = &mut self.terminals[index];
                terminal.connection = None;
                terminal.state.disconnected();
            }
        }
        self.owners.clear();
        self.asks.clear();
        // Answers to HTTP requests in flight are lost with the server; the ops are resent.
        self.http_pending.clear();
        let settings = self.scenario.node_settings();
        self.node = Node::new(
            settings.clone(),
            Self::world(&self.store, &settings, self.now),
            self.now,
        );
    }

    /// A manager closes a counter's session while its terminals may be mid-op.
    fn close_a_session(&mut self) {
        let (config_id, _) = CONFIGS[self.rng.gen_range(0..CONFIGS.len())];
        let session_id = self.sessions[&ConfigId(config_id)];
        let request = RequestId(self.next_request);
        self.next_request += 1;
        self.node.on_close_session(request, session_id, None);
        self.settle();
    }

    /// A connection with one terminal's token claims another terminal's id
    /// (one already bound): it must be refused with 4003, and so must an
    /// HTTP op doing the same.
    fn impersonate(&mut self) {
        let bound: Vec<(TerminalId, TokenKey)> = self
            .store
            .bindings
            .iter()
            .map(|(terminal, token)| (*terminal, token.clone()))
            .collect();
        let Some((victim, victim_token)) = bound.choose(&mut self.rng).cloned() else {
            return;
        };
        let index = self.rng.gen_range(0..self.terminals.len());
        self.follow_session(index);
        if self.terminals[index].token == victim_token {
            return;
        }
        if self.rng.gen_bool(0.5) {
            let conn = ConnId(self.next_conn);
            self.next_conn += 1;
            let peer = self.peer(index);
            let mut wire = Wire::default();
            wire.to_server.push_back(Ok(ClientMessage::Hello {
                protocol: possync_protocol::PROTOCOL_VERSION,
                terminal: victim,
                known: BTreeMap::new(),
            }));
            self.wires.insert(conn, wire);
            self.owners.insert(conn, Owner::Rogue);
            self.node.on_connect(conn, peer, self.now);
        } else {
            let terminal = &self.terminals[index];
            let source = Source {
                session_id: terminal.session_id,
                config_id: terminal.config_id,
                terminal: victim,
                role: Role::Manager,
            };
            let token = terminal.token.clone();
            let request = OpRequest {
                approval: None,
                op_id: OpId(self.fresh_uuid()),
                order_id: OrderId(self.fresh_uuid()),
                op: Op::create(),
            };
            let request_id = RequestId(self.next_request);
            self.next_request += 1;
            self.http_pending
                .insert(request_id, (index, request.clone(), true));
            self.node
                .on_http_op(request_id, token, source, request, self.now);
        }
        self.settle();
    }

    /// Presence and resync floods: one order named a thousand times, presence
    /// changed faster than allowed.
    fn flood(&mut self) {
        let index = self.rng.gen_range(0..self.terminals.len());
        let Some(conn) = self.terminals[index].connection else {
            return;
        };
        let orders: Vec<OrderId> = self.terminals[index]
            .state
            .confirmed()
            .keys()
            .copied()
            .collect();
        let Some(wire) = self.wires.get_mut(&conn) else {
            return;
        };
        for n in 0..30 {
            let order_id = orders.get(n % orders.len().max(1)).copied();
            wire.to_server
                .push_back(Ok(ClientMessage::Presence { order_id }));
        }
        if let Some(order_id) = orders.first() {
            wire.to_server.push_back(Ok(ClientMessage::Resync {
                order_ids: vec![*order_id; possync_protocol::RESYNC_ORDERS_MAX],
            }));
        }
    }

    fn send_garbage(&mut self) {
        let index = self.rng.gen_range(0..self.terminals.len());
        if let Some(conn) = self.terminals[index].connection
            && let Some(wire) = self.wires.get_mut(&conn)
        {
            wire.to_server.push_back(Err(DecodeError {
                code: RejectCode::Invalid,
                message: "not JSON".to_owned(),
                op: None,
            }));
        }
    }

    /// The manager links the Bar to Counter 2, or unlinks it again.
    fn change_links(&mut self) {
        let bar_linked = self.store.links.are_linked(ConfigId(2), ConfigId(3));
        self.store.links = if bar_linked {
            initial_links()
        } else {
            SyncLinks::from_pairs([(ConfigId(1), ConfigId(2)), (ConfigId(2), ConfigId(3))])
        };
        self.links_ever.insert((ConfigId(2), ConfigId(3)));
        self.store.links_ever = SyncLinks::from_pairs(self.links_ever.iter().copied());
        self.node.on_shop_changed(Reload::Links);
        self.settle();
    }

    // ----- The store and time -----

    fn answer_some_ask(&mut self) {
        if self.asks.is_empty() {
            return;
        }
        let position = self.rng.gen_range(0..self.asks.len());
        let fail = self.chance(self.scenario.read_failure_per_mille);
        self.answer_ask(position, fail);
    }

    fn answer_ask(&mut self, position: usize, fail: bool) {
        let (ask, request) = self.asks.remove(position);
        let answer = if fail {
            self.report.failed_reads += 1;
            Err("the disk is on fire".to_owned())
        } else {
            Ok(self.store.answer(&request))
        };
        self.trace(|| format!("store answers {request:?} with {answer:?}"));
        self.node.on_store_answer(ask, answer, self.now);
        self.settle();
    }

    /// The oldest batch being committed ends: durable, failed, or landed but
    /// reported failed (an unknown outcome).
    fn complete_commit(&mut self) {
        if self.committing.is_empty() {
            return;
        }
        let fails = self.chance(self.scenario.commit_failure_per_mille * 3);
        let lands =
            !fails || self.rng.gen_range(0..1000) < self.scenario.landed_per_mille_of_failures;
        self.complete_commit_as(fails, lands);
    }

    fn complete_commit_as(&mut self, fails: bool, lands: bool) {
        let Some(committing) = self.committing.pop_front() else {
            return;
        };
        self.trace(|| format!("commit {:?} fails {fails} lands {lands}", committing.batch));
        let mut refused = false;
        if lands && let Err(refusal) = self.store.commit(&committing.batch.entries) {
            refused = true;
            assert!(
                committing.after_a_failure,
                "seed {}: the store refused a batch decided on a clean state: {}",
                self.scenario.seed, refusal.0
            );
        }
        let result = if fails || refused {
            self.report.failed_commits += 1;
            if lands && !refused {
                self.report.landed_failed_commits += 1;
            }
            // Batches decided on top of this one may be refused: expected.
            for later in &mut self.committing {
                later.after_a_failure = true;
            }
            CommitResult::Failed {
                reason: if refused {
                    "the store refused the batch".to_owned()
                } else {
                    "the disk is full".to_owned()
                },
            }
        } else {
            let mut sessions_closed = Vec::new();
            for close in &committing.batch.session_closes {
                let done = self.store.close_session(close.session_id);
                if done {
                    self.report.sessions_closed += 1;
                    let config_id = ConfigId(close.session_id.0 / 1_000);
                    let next = SessionId(config_id.0 * 1_000 + self.next_session);
                    self.next_session += 1;
                    self.sessions.insert(config_id, next);
                }
                sessions_closed.push((close.session_id, done));
            }
            CommitResult::Committed { sessions_closed }
        };
        self.node.on_commit(&committing.batch, result, self.now);
        self.settle();
    }

    fn advance_time(&mut self, millis: i64) {
        self.now = self.now.plus_millis(millis);
        // Terminals that read answer the server's pings.
        let alive: Vec<ConnId> = self
            .terminals
            .iter()
            .filter(|terminal| !terminal.stalled)
            .filter_map(|terminal| terminal.connection)
            .collect();
        for conn in alive {
            self.node.on_heard(conn, self.now);
        }
        self.node.on_tick(self.now);
        self.settle();
    }

    // ----- The network -----

    /// The server reads a few messages, interleaving its connections at random.
    fn server_step(&mut self) {
        let budget = self.rng.gen_range(1..=12);
        self.server_reads(budget);
    }

    fn server_reads(&mut self, budget: usize) {
        for _ in 0..budget {
            // As the server's actor: no more input while the node's batch is full.
            if self.node.is_saturated() {
                break;
            }
            let ready: Vec<ConnId> = self
                .wires
                .iter()
                .filter(|(_, wire)| !wire.to_server.is_empty() && wire.close.is_none())
                .map(|(conn, _)| *conn)
                .collect();
            let Some(&conn) = ready.choose(&mut self.rng) else {
                break;
            };
            let Some(message) = self
                .wires
                .get_mut(&conn)
                .and_then(|wire| wire.to_server.pop_front())
            else {
                break;
            };
            self.trace(|| format!("conn {} sends {message:?}", conn.0));
            self.node.on_message(conn, message, self.now);
            self.settle();
        }
    }

    /// Delivers a few server messages to terminals; each reacts (acks, resyncs, resends).
    fn deliver_some(&mut self) {
        let count = self.rng.gen_range(1..=8);
        self.deliver(count);
    }

    fn deliver(&mut self, count: usize) {
        for _ in 0..count {
            let ready: Vec<ConnId> = self
                .wires
                .iter()
                .filter(|(conn, wire)| {
                    (!wire.to_client.is_empty() || wire.close.is_some()) && !self.is_stalled(**conn)
                })
                .map(|(conn, _)| *conn)
                .collect();
            let Some(&conn) = ready.choose(&mut self.rng) else {
                return;
            };
            self.deliver_one(conn);
        }
    }

    fn is_stalled(&self, conn: ConnId) -> bool {
        matches!(self.owners.get(&conn), Some(Owner::Terminal(index)) if self.terminals[*index].stalled)
    }

    fn deliver_one(&mut self, conn: ConnId) {
        let Some(wire) = self.wires.get_mut(&conn) else {
            return;
        };
        let Some(frame) = wire.to_client.pop_front() else {
            if let Some(code) = wire.close {
                self.closed_by_server(conn, code);
            }
            return;
        };
        self.node.on_flushed(conn, 1, frame.len() as u64);
        let Some(Owner::Terminal(index)) = self.owners.get(&conn).copied() else {
            assert!(
                !matches!(
                    frame.message(),
                    ServerMessage::Welcome { .. } | ServerMessage::Order { .. }
                ),
                "seed {}: a connection claiming another terminal's id was let in: {:?}",
                self.scenario.seed,
                frame.message()
            );
            self.settle();
            return;
        };
        self.trace(|| format!("conn {} receives {:?}", conn.0, frame.message()));
        self.terminal_receives(index, frame.message());
        let terminal = &mut self.terminals[index];
        let mut outgoing: Vec<ClientMessage> = terminal.state.take_resync().into_iter().collect();
        // Retryable rejects put ops back in the outbox: resend them now.
        outgoing.extend(terminal.state.unsent().into_iter().map(ClientMessage::Op));
        if let Some(wire) = self.wires.get_mut(&conn) {
            wire.to_server.extend(outgoing.into_iter().map(Ok));
        }
        self.settle();
    }

    fn closed_by_server(&mut self, conn: ConnId, code: CloseCode) {
        match self.owners.get(&conn).copied() {
            // Refused (4003); a rogue closed for another reason (before its id
            // could be checked) counts for nothing, and its `welcome` would
            // have failed the run in `deliver_one`.
            Some(Owner::Rogue) if code == CloseCode::TerminalTaken => {
                self.report.impersonations_refused += 1;
            }
            Some(Owner::Rogue) => {}
            Some(Owner::Terminal(_)) => {
                assert_ne!(
                    code,
                    CloseCode::TerminalTaken,
                    "seed {}: a terminal was refused its own id",
                    self.scenario.seed
                );
                if code == CloseCode::TooSlow {
                    self.report.too_slow_closes += 1;
                }
            }
            None => {}
        }
        self.drop_connection(conn);
    }

    // ----- The end -----

    /// Stops the faults, reconnects everyone and runs until nothing moves.
    fn quiesce(&mut self) {
        self.faults = false;
        for terminal in &mut self.terminals {
            terminal.stalled = false;
        }
        for round in 0.. {
            assert!(
                round < 20_000,
                "seed {}: the shop did not quiesce",
                self.scenario.seed
            );
            for index in 0..self.terminals.len() {
                if self.terminals[index].connection.is_none() {
                    self.connect(index);
                }
            }
            let busy = !self.asks.is_empty()
                || !self.committing.is_empty()
                || !self.http_pending.is_empty()
                || self.wires.values().any(|wire| {
                    !wire.to_server.is_empty() || !wire.to_client.is_empty() || wire.close.is_some()
                })
                || !self.node.is_idle()
                || self.terminals.iter().any(|terminal| {
                    !terminal.state.outbox().is_empty() || !terminal.state.is_synced()
                });
            if !busy {
                break;
            }
            while !self.asks.is_empty() {
                self.answer_some_ask();
            }
            while !self.committing.is_empty() {
                self.complete_commit();
            }
            self.server_step();
            let conns: Vec<ConnId> = self.wires.keys().copied().collect();
            for conn in conns {
                while self
                    .wires
                    .get(&conn)
                    .is_some_and(|wire| !wire.to_client.is_empty() || wire.close.is_some())
                {
                    self.deliver_one(conn);
                }
            }
            // Rate limits refill; terminals whose ops were refused resend them.
            self.advance_time(500);
            for index in 0..self.terminals.len() {
                if let Some(conn) = self.terminals[index].connection {
                    let unsent = self.terminals[index].state.unsent();
                    if let Some(wire) = self.wires.get_mut(&conn) {
                        wire.to_server.extend(
                            unsent
                                .into_iter()
                                .map(|request| Ok(ClientMessage::Op(request))),
                        );
                    }
                }
            }
        }
    }

    fn check(&mut self) {
        let seed = self.scenario.seed;
        let links = self.store.links.clone();
        // Convergence: every terminal holds exactly the store's visible drafts.
        for terminal in &self.terminals {
            assert!(
                terminal.state.outbox().is_empty(),
                "seed {seed}: terminal left with pending ops"
            );
            let expected: BTreeMap<OrderId, &Order> = self
                .store
                .orders
                .values()
                .filter(|order| can_see_draft(order, terminal.config_id, &links))
                .map(|order| (order.id, order))
                .collect();
            let held: BTreeMap<OrderId, &Order> = terminal
                .state
                .confirmed()
                .iter()
                .map(|(id, order)| (*id, order))
                .collect();
            if held.keys().ne(expected.keys()) {
                let differing: Vec<String> = held
                    .keys()
                    .chain(expected.keys())
                    .filter(|id| held.contains_key(id) != expected.contains_key(id))
                    .map(|id| {
                        format!(
                            "{id}: held {:?}, stored {:?}",
                            held.get(id)
                                .map(|order| (order.version, order.state, order.shared)),
                            self.store.orders.get(id).map(|order| (
                                order.version,
                                order.state,
                                order.shared,
                                order.origin.config_id
                            ))
                        )
                    })
                    .collect();
                panic!(
                    "seed {seed}: terminal of config {} holds other orders than the store: {differing:#?}",
                    terminal.config_id
                );
            }
            for (order_id, order) in &expected {
                assert_eq!(
                    held[order_id], *order,
                    "seed {seed}: terminal copy of {order_id} differs from the store"
                );
            }
        }
        // The node agrees with the store after everything settled.
        let node_drafts: Vec<&Order> = self.node.drafts().collect();
        let store_drafts: Vec<Order> = self.store.drafts();
        assert_eq!(
            node_drafts,
            store_drafts.iter().collect::<Vec<_>>(),
            "seed {seed}: the node's drafts differ from the store's"
        );
        // Histories: contiguous, one pay at most, nothing after pay, each op once,
        // nothing after the session closed, no terminal under another's id.
        let mut seen_ops: BTreeMap<OpId, (OrderId, u64)> = BTreeMap::new();
        for (order_id, history) in &self.store.history {
            let order = &self.store.orders[order_id];
            assert_eq!(
                history.len() as u64,
                order.version,
                "seed {seed}: history of {order_id} has gaps"
            );
            let mut paid = false;
            for (index, entry) in history.iter().enumerate() {
                assert_eq!(
                    entry.version,
                    index as u64 + 1,
                    "seed {seed}: versions not contiguous"
                );
                assert!(!paid, "seed {seed}: {order_id} edited after payment");
                if matches!(entry.op, Op::Pay { .. }) {
                    paid = true;
                    self.report.orders_paid += 1;
                }
                assert!(
                    seen_ops
                        .insert(entry.op_id, (*order_id, entry.version))
                        .is_none(),
                    "seed {seed}: op applied twice"
                );
                if let Some(closed_in) = self.store.closed_sessions.get(&entry.by.session_id) {
                    assert!(
                        self.store.committed_in[&entry.op_id] <= *closed_in,
                        "seed {seed}: an op of session {} was committed after it closed",
                        entry.by.session_id
                    );
                }
                assert!(
                    self.terminal_sessions
                        .get(&entry.by.terminal)
                        .is_some_and(|sessions| sessions.contains(&entry.by.session_id)),
                    "seed {seed}: terminal {} acted in session {} it does not belong to",
                    entry.by.terminal,
                    entry.by.session_id
                );
            }
            assert_eq!(
                paid,
                order.state == OrderState::Paid,
                "seed {seed}: paid state and history disagree"
            );
        }
        // Every acknowledged op is in the history, at the version it was acknowledged with.
        for terminal in &self.terminals {
            for (op_id, order_id, version) in &terminal.acks {
                match seen_ops.get(op_id) {
                    Some(found) => assert_eq!(
                        found,
                        &(*order_id, *version),
                        "seed {seed}: ack names another version"
                    ),
                    None => {
                        // Acked without a history row: only a create that found its order already made.
                        assert!(
                            self.store.orders.contains_key(order_id),
                            "seed {seed}: acked op {op_id} lost"
                        );
                    }
                }
            }
        }
    }
}
