//! possync-sim: a deterministic simulation of a shop.
//!
//! Many terminals in linked and unlinked configs make random edits; the
//! network delays, interleaves, duplicates and drops messages and breaks
//! connections; commits fail; the server restarts, keeping only what its
//! store committed. Everything is driven by one seeded random generator and
//! a manual clock, so a failing seed replays exactly.
//!
//! The server here is the real [`Engine`] with the same batch discipline as
//! the real server (decide ops, commit, then answer; other messages between
//! batches) and an in-memory model of the store's commit. The terminals are
//! the real [`TerminalState`]. At quiescence the checks are: every terminal
//! equals the server for every order it may see, every acknowledged op is in
//! the history exactly once at the acknowledged version, histories have no
//! gaps, and no order is paid twice or edited after payment.

use possync_core::*;
use possync_engine::{
    ConfigInfo, ConnId, ConnectionInfo, Decision, Delivery, Engine, EngineCatalog, EngineSettings,
    OpSource, World, unavailable_answer,
};
use possync_protocol::{ClientMessage, OpRequest, ServerMessage};
use possync_terminal::TerminalState;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, VecDeque};
use uuid::Uuid;

/// How a scenario is shaped; every field has a sensible default.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub seed: u64,
    pub steps: usize,
    pub terminals: usize,
    /// Probability (per mille) that a step breaks a connection.
    pub disconnect_per_mille: u32,
    pub restart_per_mille: u32,
    pub commit_failure_per_mille: u32,
    pub duplicate_per_mille: u32,
}

impl Scenario {
    pub fn new(seed: u64) -> Self {
        Scenario {
            seed,
            steps: 300,
            terminals: 5,
            disconnect_per_mille: 15,
            restart_per_mille: 5,
            commit_failure_per_mille: 30,
            duplicate_per_mille: 20,
        }
    }
}

/// What a run saw, for the test's message and for tuning.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub ops_sent: u64,
    pub acks: u64,
    pub duplicates: u64,
    pub rejects: u64,
    pub restarts: u64,
    pub disconnects: u64,
    pub failed_commits: u64,
    pub orders_paid: u64,
}

/// The store's committed state, as far as sync is concerned.
#[derive(Debug, Clone, Default)]
struct DurableStore {
    orders: BTreeMap<OrderId, Order>,
    history: BTreeMap<OrderId, Vec<HistoryEntry>>,
    outcomes: BTreeMap<OpId, OpOutcome>,
}

impl DurableStore {
    /// One transaction: all entries or none.
    fn commit(&mut self, entries: &[CommitEntry]) {
        for entry in entries {
            match entry {
                CommitEntry::Accepted { order, entry } => {
                    let stored_version =
                        self.orders.get(&order.id).map_or(0, |order| order.version);
                    assert_eq!(
                        stored_version + 1,
                        entry.version,
                        "the engine skipped a version"
                    );
                    assert!(
                        !self.outcomes.contains_key(&entry.op_id),
                        "op {} committed twice",
                        entry.op_id
                    );
                    self.orders.insert(order.id, order.clone());
                    self.history
                        .entry(order.id)
                        .or_default()
                        .push(entry.clone());
                    self.outcomes.insert(
                        entry.op_id,
                        OpOutcome::Accepted {
                            order_id: order.id,
                            version: entry.version,
                        },
                    );
                }
                CommitEntry::Rejected {
                    op_id,
                    order_id,
                    reject,
                    ..
                } => {
                    self.outcomes.entry(*op_id).or_insert(OpOutcome::Rejected {
                        order_id: *order_id,
                        reject: reject.clone(),
                    });
                }
            }
        }
    }
}

/// Configs: 1 and 2 are linked, 3 is alone.
const CONFIGS: [(i64, &str); 3] = [(1, "Counter 1"), (2, "Counter 2"), (3, "Bar")];

fn name(text: &str) -> Name {
    Name::parse(text).unwrap_or_else(|error| panic!("{text}: {error}"))
}

fn world(store: &DurableStore) -> World {
    let taxes = vec![
        Tax {
            id: TaxId(1),
            name: name("VAT 10%"),
            rate: TaxRate::from_basis_points(1000).unwrap_or_default(),
            price_included: true,
        },
        Tax {
            id: TaxId(2),
            name: name("VAT 21%"),
            rate: TaxRate::from_basis_points(2100).unwrap_or_default(),
            price_included: false,
        },
    ];
    let products: Vec<Product> = (1..=6)
        .map(|n| Product {
            id: ProductId(n),
            name: name(&format!("Product {n}")),
            price: Money::new(n * 135).unwrap_or_default(),
            category_id: None,
            barcode: None,
            tax_ids: vec![TaxId(1 + n % 2)],
            tracks_stock: false,
            on_hand: Quantity::ZERO,
        })
        .collect();
    let customers = vec![Customer {
        id: CustomerId(1),
        name: name("Ada"),
        email: None,
        phone: None,
    }];
    let methods = vec![
        PaymentMethod {
            id: PaymentMethodId(1),
            name: name("Cash"),
            kind: PaymentMethodKind::Cash,
        },
        PaymentMethod {
            id: PaymentMethodId(2),
            name: name("Card"),
            kind: PaymentMethodKind::Card,
        },
    ];
    World {
        configs: CONFIGS
            .iter()
            .map(|(id, config_name)| ConfigInfo {
                id: ConfigId(*id),
                name: name(config_name),
                auto_share: *id == 2,
            })
            .collect(),
        links: SyncLinks::from_pairs([(ConfigId(1), ConfigId(2))]),
        catalog: EngineCatalog::build(&products, &taxes, &customers, &methods),
        orders: store.orders.values().cloned().collect(),
    }
}

/// A connection: what is on the wire in each direction.
#[derive(Debug, Default)]
struct Wire {
    to_server: VecDeque<ClientMessage>,
    to_client: VecDeque<ServerMessage>,
}

#[derive(Debug)]
struct Terminal {
    id: TerminalId,
    config_id: ConfigId,
    session_id: SessionId,
    state: TerminalState,
    connection: Option<ConnId>,
    /// Every ack this terminal received: (op, order, version).
    acks: Vec<(OpId, OrderId, u64)>,
}

pub struct Simulation {
    scenario: Scenario,
    rng: StdRng,
    now: Timestamp,
    store: DurableStore,
    engine: Engine,
    wires: BTreeMap<ConnId, Wire>,
    conn_owner: BTreeMap<ConnId, usize>,
    next_conn: u64,
    terminals: Vec<Terminal>,
    faults: bool,
    report: Report,
}

impl std::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("seed", &self.scenario.seed)
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

impl Simulation {
    pub fn new(scenario: Scenario) -> Self {
        let mut rng = StdRng::seed_from_u64(scenario.seed);
        let store = DurableStore::default();
        let engine = Engine::new(
            EngineSettings {
                lease_ms: 5_000,
                outcomes_cached_max: 64,
            },
            world(&store),
        );
        let terminals = (0..scenario.terminals)
            .map(|index| {
                let config_id = ConfigId(CONFIGS[index % CONFIGS.len()].0);
                Terminal {
                    id: TerminalId(Uuid::from_u128(rng.r#gen())),
                    config_id,
                    // Two terminals of one config share its session.
                    session_id: SessionId(config_id.0 * 100),
                    state: TerminalState::new(),
                    connection: None,
                    acks: Vec::new(),
                }
            })
            .collect();
        Simulation {
            scenario,
            rng,
            now: Timestamp::from_unix_millis(1_800_000_000_000),
            store,
            engine,
            wires: BTreeMap::new(),
            conn_owner: BTreeMap::new(),
            next_conn: 1,
            terminals,
            faults: true,
            report: Report::default(),
        }
    }

    fn chance(&mut self, per_mille: u32) -> bool {
        self.faults && self.rng.gen_range(0..1000) < per_mille
    }

    fn fresh_uuid(&mut self) -> Uuid {
        Uuid::from_u128(self.rng.r#gen())
    }

    /// Runs the scenario, then quiesces and checks. Panics with the seed on any violation.
    pub fn run(mut self) -> Report {
        for index in 0..self.terminals.len() {
            self.connect(index);
        }
        for _ in 0..self.scenario.steps {
            self.step();
        }
        self.quiesce();
        self.check();
        self.report
    }

    fn step(&mut self) {
        match self.rng.gen_range(0..100) {
            0..=34 => {
                let index = self.rng.gen_range(0..self.terminals.len());
                self.make_op(index);
            }
            35..=59 => self.server_step(),
            60..=89 => self.deliver_some(),
            90..=94 => self.now = self.now.plus_millis(self.rng.gen_range(0..3_000)),
            _ => {
                let index = self.rng.gen_range(0..self.terminals.len());
                if self.terminals[index].connection.is_none() {
                    self.connect(index);
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
    }

    fn connect(&mut self, index: usize) {
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        let terminal = &mut self.terminals[index];
        terminal.connection = Some(conn);
        let mut wire = Wire::default();
        wire.to_server.push_back(terminal.state.hello(terminal.id));
        wire.to_server
            .extend(terminal.state.unsent().into_iter().map(ClientMessage::Op));
        self.wires.insert(conn, wire);
        self.conn_owner.insert(conn, index);
    }

    fn disconnect(&mut self, index: usize) {
        if let Some(conn) = self.terminals[index].connection.take() {
            self.report.disconnects += 1;
            self.wires.remove(&conn);
            self.conn_owner.remove(&conn);
            // The engine learns of it when the socket closes; deliveries for it are dropped.
            let _presence = self.engine.disconnect(conn);
            self.terminals[index].state.disconnected();
        }
    }

    fn restart(&mut self) {
        self.report.restarts += 1;
        for index in 0..self.terminals.len() {
            self.disconnect(index);
        }
        self.engine = Engine::new(
            EngineSettings {
                lease_ms: 5_000,
                outcomes_cached_max: 64,
            },
            world(&self.store),
        );
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
            .filter(|p| p.sent)
            .map(|p| p.request.clone())
            .collect();
        if let Some(request) = sent.choose(&mut self.rng)
            && let Some(wire) = self.wires.get_mut(&conn)
        {
            wire.to_server.push_back(ClientMessage::Op(request.clone()));
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
                wire.to_server
                    .extend(unsent.into_iter().map(ClientMessage::Op));
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
                .filter(|p| matches!(p.request.op, Op::Create { .. }))
                .map(|p| p.request.order_id),
        );
        let op_id = OpId(self.fresh_uuid());
        if orders.is_empty() || self.rng.gen_range(0..10) == 0 {
            let share = self.rng.gen_bool(0.5);
            return Some(OpRequest {
                op_id,
                order_id: OrderId(self.fresh_uuid()),
                op: Op::Create {
                    config_id: None,
                    customer_id: None,
                    note: None,
                    share: Some(share),
                },
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
        let op = match self.rng.gen_range(0..100) {
            0..=24 => Op::AddLine {
                line_id: LineId(self.fresh_uuid()),
                product_id: ProductId(self.rng.gen_range(1..=7)),
                qty: qty(&mut self.rng, 1, 6),
                unit_price: None,
                discount: None,
                note: None,
            },
            25..=39 => Op::AddQty {
                line_id: some_line(&mut self.rng),
                delta: qty(&mut self.rng, -2, 4),
            },
            40..=49 => Op::SetQty {
                line_id: some_line(&mut self.rng),
                qty: qty(&mut self.rng, 0, 8),
            },
            50..=54 => Op::SetDiscount {
                line_id: some_line(&mut self.rng),
                discount: Discount::from_basis_points(self.rng.gen_range(0..=4) * 500)
                    .unwrap_or_default(),
            },
            55..=59 => Op::RemoveLine {
                line_id: some_line(&mut self.rng),
            },
            60..=64 => Op::SetNote {
                note: Note::parse(&format!("note {}", self.rng.gen_range(0..100)))
                    .unwrap_or_default(),
            },
            65..=67 => Op::SetCustomer {
                customer_id: self.rng.gen_bool(0.7).then_some(CustomerId(1)),
            },
            68..=71 => Op::Share {},
            72..=73 => Op::Unshare {},
            74..=79 => Op::BeginPayment {},
            80..=82 => Op::CancelPayment {},
            83..=95 => {
                let total = confirmed
                    .as_ref()
                    .map_or(Money::ZERO, |order| order.totals.total);
                let extra = if self.rng.gen_bool(0.5) {
                    self.rng.gen_range(0..500)
                } else {
                    0
                };
                Op::Pay {
                    payments: vec![PaymentInput {
                        method_id: PaymentMethodId(1),
                        amount: Money::new(total.minor().max(1) + extra).unwrap_or(Money::ZERO),
                    }],
                    expected_total: total,
                    invoice: None,
                }
            }
            _ => Op::Cancel { reason: None },
        };
        Some(OpRequest {
            op_id,
            order_id,
            op,
        })
    }

    /// The server drains messages in a random interleaving of its connections:
    /// ops join the batch; any other message first commits the batch.
    fn server_step(&mut self) {
        let mut batch: Vec<(ConnId, OpRequest, Decision)> = Vec::new();
        let budget = self.rng.gen_range(1..=12);
        for _ in 0..budget {
            let ready: Vec<ConnId> = self
                .wires
                .iter()
                .filter(|(_, wire)| !wire.to_server.is_empty())
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
            match message {
                ClientMessage::Op(request) => {
                    let Some(&index) = self.conn_owner.get(&conn) else {
                        continue;
                    };
                    let terminal = &self.terminals[index];
                    let source = OpSource {
                        session_id: terminal.session_id,
                        config_id: terminal.config_id,
                        terminal: terminal.id,
                    };
                    // As the real server: ask the store about op ids the engine does not remember.
                    let stored = match self.engine.known_outcome(request.op_id) {
                        Some(_) => None,
                        None => self.store.outcomes.get(&request.op_id).cloned(),
                    };
                    let decision = self.engine.decide(&source, &request, stored, self.now);
                    batch.push((conn, request, decision));
                }
                other => {
                    self.flush(&mut batch);
                    self.handle_between_batches(conn, other);
                }
            }
        }
        self.flush(&mut batch);
    }

    /// Commits the batch (or fails to), then sends its answers and deliveries.
    fn flush(&mut self, batch: &mut Vec<(ConnId, OpRequest, Decision)>) {
        if batch.is_empty() {
            return;
        }
        let batch = std::mem::take(batch);
        if self.chance(self.scenario.commit_failure_per_mille * 3) {
            self.report.failed_commits += 1;
            self.engine.commit_failed();
            for (conn, request, _) in &batch {
                self.send(*conn, unavailable_answer(request));
            }
            return;
        }
        self.store.commit(self.engine.batch_entries());
        self.engine.commit_succeeded();
        for (conn, _, decision) in batch {
            self.send(conn, decision.answer);
            self.deliver_all(decision.deliveries);
        }
    }

    fn send(&mut self, conn: ConnId, message: ServerMessage) {
        if let Some(wire) = self.wires.get_mut(&conn) {
            wire.to_client.push_back(message);
        }
    }

    fn deliver_all(&mut self, deliveries: Vec<Delivery>) {
        for delivery in deliveries {
            for conn in delivery.to {
                self.send(conn, (*delivery.message).clone());
            }
        }
    }

    fn handle_between_batches(&mut self, conn: ConnId, message: ClientMessage) {
        let Some(&index) = self.conn_owner.get(&conn) else {
            return;
        };
        match message {
            ClientMessage::Hello {
                terminal, known, ..
            } => {
                let info = ConnectionInfo {
                    session_id: self.terminals[index].session_id,
                    config_id: self.terminals[index].config_id,
                    terminal,
                };
                for message in self.engine.connect(conn, info, &known) {
                    self.send(conn, message);
                }
            }
            ClientMessage::Resync { order_ids } => {
                for message in self.engine.resync(conn, &order_ids) {
                    self.send(conn, message);
                }
            }
            ClientMessage::Presence { order_id } => {
                let deliveries = self.engine.set_presence(conn, order_id);
                self.deliver_all(deliveries);
            }
            ClientMessage::Ping { t } => self.send(conn, ServerMessage::Pong { t }),
            ClientMessage::Op(_) => unreachable!("ops are batched"),
        }
    }

    /// Delivers a few server messages to terminals; each reacts (acks, resyncs, resends).
    fn deliver_some(&mut self) {
        let count = self.rng.gen_range(1..=8);
        for _ in 0..count {
            let ready: Vec<ConnId> = self
                .wires
                .iter()
                .filter(|(_, wire)| !wire.to_client.is_empty())
                .map(|(conn, _)| *conn)
                .collect();
            let Some(&conn) = ready.choose(&mut self.rng) else {
                return;
            };
            self.deliver_one(conn);
        }
    }

    fn deliver_one(&mut self, conn: ConnId) {
        let Some(&index) = self.conn_owner.get(&conn) else {
            return;
        };
        let Some(message) = self
            .wires
            .get_mut(&conn)
            .and_then(|wire| wire.to_client.pop_front())
        else {
            return;
        };
        let terminal = &mut self.terminals[index];
        match terminal.state.receive(&message) {
            Some(possync_terminal::OpFate::Acked {
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
            Some(possync_terminal::OpFate::Rejected { code, .. })
                if code != RejectCode::Unavailable =>
            {
                self.report.rejects += 1;
            }
            Some(possync_terminal::OpFate::Rejected { .. }) | None => {}
        }
        let mut outgoing: Vec<ClientMessage> = terminal.state.take_resync().into_iter().collect();
        // Retryable rejects put ops back in the outbox: resend them now.
        outgoing.extend(terminal.state.unsent().into_iter().map(ClientMessage::Op));
        if let Some(wire) = self.wires.get_mut(&conn) {
            wire.to_server.extend(outgoing);
        }
    }

    /// Stops the faults, reconnects everyone and runs until nothing moves.
    fn quiesce(&mut self) {
        self.faults = false;
        for index in 0..self.terminals.len() {
            if self.terminals[index].connection.is_none() {
                self.connect(index);
            }
        }
        for round in 0.. {
            assert!(
                round < 100_000,
                "seed {}: the shop did not quiesce",
                self.scenario.seed
            );
            let busy_server = self.wires.values().any(|wire| !wire.to_server.is_empty());
            let busy_clients = self.wires.values().any(|wire| !wire.to_client.is_empty());
            if !busy_server && !busy_clients {
                break;
            }
            self.server_step();
            let conns: Vec<ConnId> = self.wires.keys().copied().collect();
            for conn in conns {
                while self
                    .wires
                    .get(&conn)
                    .is_some_and(|wire| !wire.to_client.is_empty())
                {
                    self.deliver_one(conn);
                }
            }
        }
    }

    fn check(&mut self) {
        let seed = self.scenario.seed;
        let links = self.engine.links().clone();
        // Convergence: every terminal holds exactly the server's visible drafts.
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
            assert_eq!(
                held.keys().collect::<Vec<_>>(),
                expected.keys().collect::<Vec<_>>(),
                "seed {seed}: terminal of config {} holds other orders than the server",
                terminal.config_id
            );
            for (order_id, order) in &expected {
                assert_eq!(
                    held[order_id], *order,
                    "seed {seed}: terminal copy of {order_id} differs from the server"
                );
            }
        }
        // The engine agrees with the store after everything settled.
        for order in self.engine.drafts() {
            assert_eq!(
                Some(order),
                self.store.orders.get(&order.id),
                "seed {seed}: engine ahead of the store"
            );
        }
        // Histories: contiguous, one pay at most, nothing after pay, each op once.
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
                        assert_eq!(
                            *version, 1,
                            "seed {seed}: acked op {op_id} is not in the history"
                        );
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
