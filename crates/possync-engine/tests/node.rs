//! The node's rules, driven through its inputs as the server's actor drives
//! it, with a store kept in memory. Each test names one rule; the simulation
//! (`possync-sim`) mixes them all with faults.

use possync_core::*;
use possync_engine::freshness::Freshness;
use possync_engine::*;
use possync_protocol::{
    ClientMessage, CloseCode, DecodeError, OpRequest, RemovedReason, ServerMessage,
};
use std::collections::{BTreeMap, VecDeque};
use uuid::Uuid;

const BAR: ConfigId = ConfigId(1);
const COUNTER_1: ConfigId = ConfigId(2);
const COUNTER_2: ConfigId = ConfigId(3);
const START_MS: i64 = 1_800_000_000_000;

fn name(text: &str) -> Name {
    Name::parse(text).unwrap()
}

/// A UUIDv7 stamped `offset_ms` after the start, unique by `n`.
fn v7(offset_ms: i64, n: u128) -> Uuid {
    let millis = u64::try_from(START_MS + offset_ms).unwrap();
    let random: [u8; 10] = (n | 1 << 79).to_be_bytes()[6..].try_into().unwrap();
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}

fn catalog() -> EngineCatalog {
    let products = vec![Product {
        id: ProductId(1),
        name: name("Espresso"),
        price: Money::new(250).unwrap(),
        category_id: None,
        barcode: None,
        tax_ids: vec![TaxId(1)],
        tracks_stock: false,
        on_hand: Quantity::ZERO,
        low_stock: None,
    }];
    let taxes = vec![Tax {
        id: TaxId(1),
        name: name("VAT 10%"),
        rate: "10".parse().unwrap(),
        price_included: true,
    }];
    let methods = vec![PaymentMethod {
        id: PaymentMethodId(1),
        name: name("Cash"),
        kind: PaymentMethodKind::Cash,
    }];
    EngineCatalog::build(&products, &taxes, &[], &methods)
}

fn configs() -> Vec<ConfigInfo> {
    [
        (BAR, "Bar"),
        (COUNTER_1, "Counter 1"),
        (COUNTER_2, "Counter 2"),
    ]
    .into_iter()
    .map(|(id, config_name)| ConfigInfo {
        id,
        name: name(config_name),
        auto_share: false,
        restrict_price_control: false,
    })
    .collect()
}

/// What the in-memory store has made durable.
#[derive(Debug, Default)]
struct Store {
    orders: BTreeMap<OrderId, Order>,
    outcomes: BTreeMap<OpId, OpOutcome>,
    bindings: BTreeMap<TerminalId, TokenKey>,
    links: SyncLinks,
    closed_sessions: Vec<SessionId>,
    commits: u64,
}

impl Store {
    fn commit(&mut self, entries: &[CommitEntry]) {
        self.commits += 1;
        for entry in entries {
            match entry {
                CommitEntry::Accepted { order, entry } => {
                    let stored = self.orders.get(&order.id).map_or(0, |order| order.version);
                    assert_eq!(stored + 1, entry.version, "versions are contiguous");
                    self.orders.insert(order.id, order.clone());
                    self.outcomes.insert(
                        entry.op_id,
                        OpOutcome::Accepted {
                            order_id: order.id,
                            version: entry.version,
                        },
                    );
                }
                CommitEntry::Rejected { op_id, .. } | CommitEntry::Unchanged { op_id, .. } => {
                    self.outcomes
                        .entry(*op_id)
                        .or_insert_with(|| entry.outcome());
                }
            }
        }
    }

    fn answer(&mut self, request: &StoreRequest) -> StoreAnswer {
        match request {
            StoreRequest::Read { op_ids, order_ids } => StoreAnswer::Read {
                outcomes: op_ids
                    .iter()
                    .filter_map(|op_id| Some((*op_id, self.outcomes.get(op_id)?.clone())))
                    .collect(),
                orders: order_ids
                    .iter()
                    .filter_map(|order_id| self.orders.get(order_id).cloned())
                    .collect(),
            },
            StoreRequest::BindTerminal { terminal, token } => StoreAnswer::TerminalBound {
                terminal: *terminal,
                owner: self
                    .bindings
                    .entry(*terminal)
                    .or_insert(token.clone())
                    .clone(),
            },
            StoreRequest::LoadLinks => StoreAnswer::Links(self.links.clone()),
            StoreRequest::LoadConfigs => StoreAnswer::Configs(configs()),
            StoreRequest::LoadCatalog => StoreAnswer::Catalog(catalog()),
        }
    }
}

/// How the harness answers the node's questions and batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// At once, successfully.
    Auto,
    /// Kept until the test handles them.
    Hold,
}

/// A node with its store and a log of what each connection was sent.
struct Shop {
    node: Node,
    settings: NodeSettings,
    store: Store,
    now: Timestamp,
    next_id: std::cell::Cell<u128>,
    sent: BTreeMap<ConnId, VecDeque<ServerMessage>>,
    closed: BTreeMap<ConnId, CloseCode>,
    replies: BTreeMap<RequestId, ServerMessage>,
    asks: VecDeque<(AskId, StoreRequest)>,
    batches: VecDeque<Batch>,
    asks_mode: Mode,
    commits_mode: Mode,
    /// Connections that do not read: their frames stay queued until `take`.
    stalled: std::collections::BTreeSet<ConnId>,
}

impl Shop {
    fn new() -> Shop {
        Shop::with(NodeSettings::default())
    }

    fn with(settings: NodeSettings) -> Shop {
        let store = Store {
            links: SyncLinks::from_pairs([(COUNTER_1, COUNTER_2)]),
            ..Store::default()
        };
        Shop::starting(settings, store)
    }

    /// A node starting over what `store` holds (its drafts only).
    fn starting(settings: NodeSettings, store: Store) -> Shop {
        let now = Timestamp::from_unix_millis(START_MS);
        let world = World {
            configs: configs(),
            links: store.links.clone(),
            links_ever: store.links.clone(),
            catalog: catalog(),
            drafts: store
                .orders
                .values()
                .filter(|order| order.is_draft())
                .cloned()
                .collect(),
            newest_stored_id_ms: Freshness::newest_stamp_ms(
                store
                    .outcomes
                    .keys()
                    .map(|op_id| op_id.0)
                    .chain(store.orders.keys().map(|order_id| order_id.0)),
                START_MS - 3_600_000 + settings.id_clock_skew_ms,
            ),
        };
        Shop {
            // The node has been running for an hour: ids stamped now are new to it.
            node: Node::new(settings.clone(), world, now.plus_millis(-3_600_000)),
            settings,
            store,
            now,
            next_id: std::cell::Cell::new(1),
            sent: BTreeMap::new(),
            closed: BTreeMap::new(),
            replies: BTreeMap::new(),
            asks: VecDeque::new(),
            batches: VecDeque::new(),
            asks_mode: Mode::Auto,
            commits_mode: Mode::Auto,
            stalled: std::collections::BTreeSet::new(),
        }
    }

    /// A new UUIDv7, as terminals make them (`&self`, so it can be an argument of a call on the shop).
    fn fresh(&self) -> Uuid {
        self.next_id.set(self.next_id.get() + 1);
        v7(self.now.unix_millis() - START_MS, self.next_id.get())
    }

    fn settle(&mut self) {
        loop {
            let mut progressed = false;
            for effect in self.node.drain_effects() {
                progressed = true;
                match effect {
                    Effect::Send { to, frame } => {
                        for conn in to {
                            self.sent
                                .entry(conn)
                                .or_default()
                                .push_back(frame.message().clone());
                            if !self.stalled.contains(&conn) {
                                self.node.on_flushed(conn, 1, frame.len() as u64);
                            }
                        }
                    }
                    Effect::Close { conn, code } => {
                        self.closed.insert(conn, code);
                    }
                    Effect::Reply { request, answer } => {
                        self.replies.insert(request, answer);
                    }
                    Effect::Ask { ask, request } => self.asks.push_back((ask, request)),
                }
            }
            while let Some(batch) = self.node.next_batch() {
                progressed = true;
                self.batches.push_back(batch);
            }
            if self.asks_mode == Mode::Auto
                && let Some((ask, request)) = self.asks.pop_front()
            {
                progressed = true;
                let answer = self.store.answer(&request);
                self.node.on_store_answer(ask, Ok(answer), self.now);
            }
            if self.commits_mode == Mode::Auto
                && let Some(batch) = self.batches.pop_front()
            {
                progressed = true;
                self.commit(batch, true);
            }
            if !progressed {
                return;
            }
        }
    }

    /// Commits (or fails) the batch in the store and tells the node.
    fn commit(&mut self, batch: Batch, lands: bool) {
        if lands {
            self.store.commit(&batch.entries);
        }
        let sessions_closed = batch
            .session_closes
            .iter()
            .map(|close| {
                self.store.closed_sessions.push(close.session_id);
                (close.session_id, true)
            })
            .collect();
        self.node.on_commit(
            &batch,
            CommitResult::Committed { sessions_closed },
            self.now,
        );
    }

    /// Fails the oldest batch being committed; `landed`: it reached the disk anyway.
    fn fail_commit(&mut self, landed: bool) {
        let batch = self
            .batches
            .pop_front()
            .expect("a batch is being committed");
        if landed {
            self.store.commit(&batch.entries);
        }
        self.node.on_commit(
            &batch,
            CommitResult::Failed {
                reason: "disk full".to_owned(),
            },
            self.now,
        );
        self.settle();
    }

    /// The store refuses the oldest batch being committed: another node moved
    /// `order_ids` first. Nothing of the batch is written.
    fn lose_commit(&mut self, order_ids: &[Uuid]) {
        let batch = self
            .batches
            .pop_front()
            .expect("a batch is being committed");
        self.node.on_commit(
            &batch,
            CommitResult::Conflict {
                order_ids: order_ids.iter().copied().map(OrderId).collect(),
                closed_sessions: Vec::new(),
            },
            self.now,
        );
        self.settle();
    }

    fn session(config_id: ConfigId) -> SessionId {
        SessionId(config_id.0 * 10)
    }

    fn peer(config_id: ConfigId, token: &str) -> Peer {
        Peer {
            token: TokenKey::new(token),
            session: Session {
                id: Shop::session(config_id),
                config_id,
                state: SessionState::Open,
                opened_at: Timestamp::from_unix_millis(START_MS),
                closed_at: None,
                opened_by: UserId(1),
                opening_cash: Money::ZERO,
                counted_cash: None,
            },
            config: Config {
                id: config_id,
                name: name("Counter"),
                sync_with: vec![],
                auto_share: false,
                open_session_id: None,
                printer: None,
                restrict_price_control: false,
            },
            role: Role::Manager,
        }
    }

    /// Connects a terminal of `config_id` (its token and terminal id are
    /// derived from `conn`) and says hello.
    fn connect(&mut self, conn: u64, config_id: ConfigId) -> Vec<ServerMessage> {
        self.connect_as(
            conn,
            config_id,
            &format!("token-{conn}"),
            TerminalId(Uuid::from_u128(u128::from(conn))),
            BTreeMap::new(),
        )
    }

    fn connect_as(
        &mut self,
        conn: u64,
        config_id: ConfigId,
        token: &str,
        terminal: TerminalId,
        known: BTreeMap<OrderId, u64>,
    ) -> Vec<ServerMessage> {
        self.node
            .on_connect(ConnId(conn), Shop::peer(config_id, token), self.now);
        self.message(
            conn,
            ClientMessage::Hello {
                protocol: 1,
                terminal,
                known,
            },
        );
        self.take(conn)
    }

    fn message(&mut self, conn: u64, message: ClientMessage) {
        self.node.on_message(ConnId(conn), Ok(message), self.now);
        self.settle();
    }

    /// What was sent to `conn` since last asked; a stalled connection reads it now.
    fn take(&mut self, conn: u64) -> Vec<ServerMessage> {
        let messages: Vec<ServerMessage> = self
            .sent
            .get_mut(&ConnId(conn))
            .map(|queue| queue.drain(..).collect())
            .unwrap_or_default();
        if self.stalled.contains(&ConnId(conn)) {
            let bytes: u64 = messages
                .iter()
                .map(|message| message.encode().len() as u64)
                .sum();
            self.node
                .on_flushed(ConnId(conn), messages.len() as u32, bytes);
            self.settle();
        }
        messages
    }

    /// Connects a terminal that does not read until `take` is called.
    fn connect_stalled(&mut self, conn: u64, config_id: ConfigId) {
        self.stalled.insert(ConnId(conn));
        self.node.on_connect(
            ConnId(conn),
            Shop::peer(config_id, &format!("token-{conn}")),
            self.now,
        );
        self.message(
            conn,
            ClientMessage::Hello {
                protocol: 1,
                terminal: TerminalId(Uuid::from_u128(u128::from(conn))),
                known: BTreeMap::new(),
            },
        );
    }

    fn op_request(&mut self, order_id: Uuid, op: Op) -> OpRequest {
        OpRequest {
            approval: None,
            op_id: OpId(self.fresh()),
            order_id: OrderId(order_id),
            op,
        }
    }

    /// Sends an op on `conn` and returns its answer.
    fn op(&mut self, conn: u64, order_id: Uuid, op: Op) -> ServerMessage {
        let request = self.op_request(order_id, op);
        self.send_op(conn, request)
    }

    fn send_op(&mut self, conn: u64, request: OpRequest) -> ServerMessage {
        let op_id = request.op_id;
        self.message(conn, ClientMessage::Op(request));
        let queue = self.sent.entry(ConnId(conn)).or_default();
        let position = queue
            .iter()
            .position(|message| match message {
                ServerMessage::Ack { op_id: id, .. } | ServerMessage::Reject { op_id: id, .. } => {
                    *id == op_id
                }
                _ => false,
            })
            .unwrap_or_else(|| panic!("the op was not answered; {conn} has {queue:?}"));
        queue.remove(position).unwrap_or(ServerMessage::Synced)
    }

    fn accepted(&mut self, conn: u64, order_id: Uuid, op: Op) -> u64 {
        match self.op(conn, order_id, op.clone()) {
            ServerMessage::Ack {
                version,
                duplicate: false,
                ..
            } => version,
            other => panic!("{op:?} was not accepted: {other:?}"),
        }
    }

    fn rejected(&mut self, conn: u64, order_id: Uuid, op: Op) -> RejectCode {
        match self.op(conn, order_id, op.clone()) {
            ServerMessage::Reject { code, .. } => code,
            other => panic!("{op:?} was not refused: {other:?}"),
        }
    }

    fn advance(&mut self, millis: i64) {
        self.now = self.now.plus_millis(millis);
        self.node.on_tick(self.now);
        self.settle();
    }
}

fn create(share: bool) -> Op {
    Op::create_shared(share)
}

fn add_line(line: Uuid) -> Op {
    Op::add_line(LineId(line), ProductId(1), Quantity::ONE)
}

fn kinds(messages: &[ServerMessage]) -> Vec<&'static str> {
    messages
        .iter()
        .map(|message| match message {
            ServerMessage::Welcome { .. } => "welcome",
            ServerMessage::Order { .. } => "order",
            ServerMessage::Removed { .. } => "removed",
            ServerMessage::Synced => "synced",
            ServerMessage::Ack { .. } => "ack",
            ServerMessage::Reject { .. } => "reject",
            ServerMessage::Change { .. } => "change",
            ServerMessage::Presence { .. } => "presence",
            ServerMessage::Error { .. } => "error",
            ServerMessage::Pong { .. } => "pong",
        })
        .collect()
}

#[test]
fn hello_comes_first_and_once() {
    let mut shop = Shop::new();
    shop.node
        .on_connect(ConnId(1), Shop::peer(COUNTER_1, "t"), shop.now);
    shop.message(1, ClientMessage::Presence { order_id: None });
    assert!(matches!(&shop.take(1)[..], [ServerMessage::Error { code, .. }] if code == "invalid"));
    shop.message(
        1,
        ClientMessage::Hello {
            protocol: 1,
            terminal: TerminalId(Uuid::from_u128(1)),
            known: BTreeMap::new(),
        },
    );
    assert_eq!(kinds(&shop.take(1)), ["welcome", "synced"]);
    shop.message(
        1,
        ClientMessage::Hello {
            protocol: 1,
            terminal: TerminalId(Uuid::from_u128(1)),
            known: BTreeMap::new(),
        },
    );
    assert!(matches!(&shop.take(1)[..], [ServerMessage::Error { code, .. }] if code == "invalid"));
}

#[test]
fn a_terminal_id_belongs_to_the_token_that_first_used_it() {
    let mut shop = Shop::new();
    let terminal = TerminalId(Uuid::from_u128(77));
    shop.connect_as(1, COUNTER_1, "token-a", terminal, BTreeMap::new());
    let order = shop.fresh();
    shop.accepted(1, order, create(true));
    shop.accepted(1, order, Op::begin_payment());
    // Counter 2 copies the lock holder's id from `lock.terminal`: refused, closed 4003.
    let messages = shop.connect_as(2, COUNTER_2, "token-b", terminal, BTreeMap::new());
    assert!(
        matches!(&messages[..], [ServerMessage::Error { code, .. }] if code == "forbidden"),
        "{messages:?}"
    );
    assert_eq!(shop.closed.get(&ConnId(2)), Some(&CloseCode::TerminalTaken));
    // Over HTTP too.
    let request = shop.op_request(order, Op::cancel_payment());
    let source = Source {
        session_id: Shop::session(COUNTER_2),
        config_id: COUNTER_2,
        terminal,
        role: Role::Manager,
    };
    shop.node.on_http_op(
        RequestId(1),
        TokenKey::new("token-b"),
        source,
        request,
        shop.now,
    );
    shop.settle();
    assert!(matches!(
        shop.replies.get(&RequestId(1)),
        Some(ServerMessage::Reject {
            code: RejectCode::Forbidden,
            ..
        })
    ));
    // The binding outlives a restart (the store keeps it) and the lock holds.
    let mut shop = Shop::starting(shop.settings.clone(), std::mem::take(&mut shop.store));
    shop.connect_as(3, COUNTER_2, "token-b", terminal, BTreeMap::new());
    assert_eq!(shop.closed.get(&ConnId(3)), Some(&CloseCode::TerminalTaken));
    shop.connect_as(4, COUNTER_1, "token-a", terminal, BTreeMap::new());
    assert!(
        !shop.closed.contains_key(&ConnId(4)),
        "the owner still gets in"
    );
}

#[test]
fn every_message_kind_is_rate_limited_per_connection() {
    let settings = NodeSettings {
        presence_rate: RateLimit::new(2, 1),
        ping_rate: RateLimit::new(2, 1),
        resync_rate: RateLimit::new(1, 1),
        ops_rate: RateLimit::new(2, 1),
        refusals_in_row_max: 5,
        ..NodeSettings::default()
    };
    let mut shop = Shop::with(settings);
    shop.connect(1, COUNTER_1);
    shop.connect(2, COUNTER_1);
    for _ in 0..3 {
        shop.message(1, ClientMessage::Presence { order_id: None });
    }
    let answers = shop.take(1);
    assert!(
        matches!(&answers[..], [ServerMessage::Error { code, .. }] if code == "rate_limited"),
        "{answers:?}"
    );
    for t in 0..3 {
        shop.message(2, ClientMessage::Ping { t: t.into() });
    }
    assert_eq!(kinds(&shop.take(2)), ["pong", "pong", "error"]);
    let order = shop.fresh();
    shop.accepted(2, order, create(false));
    shop.accepted(2, order, add_line(shop.fresh()));
    assert_eq!(
        shop.rejected(2, order, add_line(Uuid::from_u128(5))),
        RejectCode::RateLimited
    );
    // Time refills the bucket.
    shop.advance(1_000);
    shop.accepted(2, order, add_line(shop.fresh()));
    // A connection that keeps flooding is closed as too slow.
    for _ in 0..10 {
        shop.message(1, ClientMessage::Presence { order_id: None });
    }
    assert_eq!(shop.closed.get(&ConnId(1)), Some(&CloseCode::TooSlow));
}

#[test]
fn presence_and_resync_never_force_a_commit() {
    let mut shop = Shop::new();
    shop.connect(1, COUNTER_1);
    let order = shop.fresh();
    shop.accepted(1, order, create(false));
    let commits = shop.store.commits;
    shop.commits_mode = Mode::Hold;
    // An op waiting in a batch, then presence and resyncs: the batch is not cut short.
    let request = shop.op_request(order, add_line(shop.fresh()));
    shop.message(1, ClientMessage::Op(request));
    let held = shop.batches.len();
    for _ in 0..5 {
        shop.message(
            1,
            ClientMessage::Presence {
                order_id: Some(OrderId(order)),
            },
        );
        shop.message(
            1,
            ClientMessage::Resync {
                order_ids: vec![OrderId(order)],
            },
        );
    }
    assert_eq!(
        shop.batches.len(),
        held,
        "no batch was cut for presence or resync"
    );
    assert_eq!(shop.store.commits, commits);
}

#[test]
fn a_resync_naming_one_order_a_thousand_times_gets_it_once() {
    let mut shop = Shop::new();
    shop.connect(1, COUNTER_1);
    let order = shop.fresh();
    shop.accepted(1, order, create(false));
    shop.take(1);
    shop.message(
        1,
        ClientMessage::Resync {
            order_ids: vec![OrderId(order); 1_000],
        },
    );
    assert_eq!(kinds(&shop.take(1)), ["order"]);
}

#[test]
fn a_resync_sends_the_committed_state_never_a_pending_one() {
    let mut shop = Shop::new();
    shop.connect(1, COUNTER_1);
    let order = shop.fresh();
    shop.accepted(1, order, create(false));
    shop.take(1);
    shop.commits_mode = Mode::Hold;
    let request = shop.op_request(order, add_line(shop.fresh()));
    shop.message(1, ClientMessage::Op(request));
    shop.message(
        1,
        ClientMessage::Resync {
            order_ids: vec![OrderId(order)],
        },
    );
    let messages = shop.take(1);
    assert!(
        matches!(&messages[..], [ServerMessage::Order { order }] if order.version == 1),
        "{messages:?}"
    );
    let batch = shop.batches.pop_front().unwrap();
    shop.commit(batch, true);
    shop.settle();
    assert_eq!(kinds(&shop.take(1)), ["ack", "change"]);
}

#[test]
fn a_catch_up_larger_than_the_queue_is_paced_by_it() {
    let settings = NodeSettings {
        catch_up_bytes_ahead_max: 2_000,
        frames_per_connection_max: 16,
        ..NodeSettings::default()
    };
    let mut shop = Shop::with(settings);
    shop.connect(1, COUNTER_1);
    for _ in 0..100 {
        let order = shop.fresh();
        shop.accepted(1, order, create(true));
    }
    shop.take(1);
    shop.connect_stalled(2, COUNTER_2);
    // Without reading, the terminal has only a little queued, and is not closed.
    let queued = shop.sent[&ConnId(2)].len();
    assert!(
        queued < 16,
        "catch-up dumped {queued} frames into the queue"
    );
    assert!(!shop.closed.contains_key(&ConnId(2)));
    // Reading drains it all, in order, then `synced`.
    let mut orders = 0;
    let mut synced = false;
    for _ in 0..1_000 {
        for message in shop.take(2) {
            match message {
                ServerMessage::Order { .. } => orders += 1,
                ServerMessage::Synced => synced = true,
                _ => {}
            }
        }
        if synced {
            break;
        }
    }
    assert_eq!(orders, 100);
    assert!(synced);
}

#[test]
fn a_change_during_catch_up_reaches_the_terminal_once() {
    let settings = NodeSettings {
        catch_up_bytes_ahead_max: 1,
        ..NodeSettings::default()
    };
    let mut shop = Shop::with(settings);
    shop.connect(1, COUNTER_1);
    let first = shop.fresh();
    let last = shop.fresh();
    shop.accepted(1, first, create(true));
    shop.accepted(1, last, create(true));
    shop.take(1);
    shop.connect_stalled(2, COUNTER_2);
    // Reading the welcome lets the cursor send `first`, and only it.
    let mut received = shop.take(2);
    // Both orders change now.
    shop.accepted(1, first, add_line(shop.fresh()));
    shop.accepted(1, last, add_line(shop.fresh()));
    let mut versions: BTreeMap<OrderId, Vec<(&str, u64)>> = BTreeMap::new();
    for _ in 0..10 {
        received.extend(shop.take(2));
    }
    {
        for message in received {
            match message {
                ServerMessage::Order { order } => versions
                    .entry(order.id)
                    .or_default()
                    .push(("order", order.version)),
                ServerMessage::Change {
                    order_id, version, ..
                } => versions
                    .entry(order_id)
                    .or_default()
                    .push(("change", version)),
                _ => {}
            }
        }
    }
    assert_eq!(versions[&OrderId(first)], [("order", 1), ("change", 2)]);
    assert_eq!(
        versions[&OrderId(last)],
        [("order", 2)],
        "the cursor sends it whole, once"
    );
}

#[test]
fn known_ids_of_orders_a_config_could_never_see_yield_nothing() {
    let mut shop = Shop::new();
    shop.connect(1, BAR);
    let private = shop.fresh();
    shop.accepted(1, private, create(true));
    let paid = shop.fresh();
    shop.accepted(1, paid, create(false));
    shop.accepted(1, paid, add_line(shop.fresh()));
    shop.accepted(
        1,
        paid,
        Op::pay_exactly(PaymentMethodId(1), Money::new(250).unwrap()),
    );
    // Counter 1 was never linked to the Bar: naming its orders teaches nothing.
    let known = BTreeMap::from([(OrderId(private), 1), (OrderId(paid), 3)]);
    let messages = shop.connect_as(
        2,
        COUNTER_1,
        "t2",
        TerminalId(Uuid::from_u128(2)),
        known.clone(),
    );
    assert_eq!(kinds(&messages), ["welcome", "synced"], "{messages:?}");
    shop.message(
        2,
        ClientMessage::Resync {
            order_ids: known.keys().copied().collect(),
        },
    );
    assert!(shop.take(2).is_empty());
    // The Bar itself is told its paid order left.
    let messages = shop.connect_as(3, BAR, "t3", TerminalId(Uuid::from_u128(3)), known);
    assert_eq!(
        kinds(&messages),
        ["welcome", "removed", "synced"],
        "{messages:?}"
    );
}

#[test]
fn a_config_once_linked_is_told_a_draft_left_it() {
    let mut shop = Shop::new();
    shop.connect(1, COUNTER_1);
    let order = shop.fresh();
    shop.accepted(1, order, create(true));
    // Counter 2 held it; then the link went while Counter 2 was away.
    shop.store.links = SyncLinks::default();
    shop.node.on_shop_changed(Reload::Links);
    shop.settle();
    let known = BTreeMap::from([(OrderId(order), 1)]);
    let messages = shop.connect_as(2, COUNTER_2, "t2", TerminalId(Uuid::from_u128(2)), known);
    assert!(
        matches!(
            &messages[1],
            ServerMessage::Removed {
                reason: RemovedReason::Unshared,
                ..
            }
        ),
        "{messages:?}"
    );
}

#[test]
fn the_store_answers_for_what_the_node_forgot() {
    let settings = NodeSettings {
        outcomes_cached_max: 1,
        finished_cached_max: 1,
        ..NodeSettings::default()
    };
    let mut shop = Shop::with(settings);
    shop.connect(1, COUNTER_1);
    let order = shop.fresh();
    let create_request = shop.op_request(order, create(false));
    assert!(matches!(
        shop.send_op(1, create_request.clone()),
        ServerMessage::Ack {
            duplicate: false,
            ..
        }
    ));
    shop.accepted(1, order, Op::cancel());
    // Push both out of the caches.
    for _ in 0..3 {
        let other = shop.fresh();
        shop.accepted(1, other, create(false));
        shop.accepted(1, other, Op::cancel());
    }
    let reads = shop.node.stats().store_reads;
    let answer = shop.send_op(1, create_request);
    assert!(
        matches!(
            answer,
            ServerMessage::Ack {
                version: 1,
                duplicate: true,
                ..
            }
        ),
        "{answer:?}"
    );
    assert_eq!(
        shop.rejected(
            1,
            order,
            Op::SetNote {
                note: Note::default()
            }
        ),
        RejectCode::Cancelled
    );
    assert!(shop.node.stats().store_reads > reads, "the store was asked");
}

#[test]
fn new_ids_are_decided_without_asking_the_store() {
    let mut shop = Shop::new();
    shop.connect(1, COUNTER_1);
    let order = shop.fresh();
    shop.accepted(1, order, create(false));
    shop.accepted(1, order, add_line(shop.fresh()));
    assert_eq!(shop.node.stats().store_reads, 0);
    // An id that is not a UUIDv7 may be anything: it is looked up.
    let random = Uuid::from_u128(0x1234_5678_9abc_4def_8123_4567_89ab_cdef);
    shop.accepted(1, random, create(false));
    assert_eq!(shop.node.stats().store_reads, 1);
}

#[test]
fn drafts_per_config_are_capped() {
    let settings = NodeSettings {
        drafts_per_config_max: 2,
        ..NodeSettings::default()
    };
    let mut shop = Shop::with(settings);
    shop.connect(1, COUNTER_1);
    let first = shop.fresh();
    shop.accepted(1, first, create(false));
    shop.accepted(1, shop.fresh(), create(false));
    assert_eq!(
        shop.rejected(1, shop.fresh(), create(false)),
        RejectCode::Invalid
    );
    // Paying or cancelling one makes room.
    shop.accepted(1, first, Op::cancel());
    shop.accepted(1, shop.fresh(), create(false));
}

#[test]
fn connections_per_token_are_capped() {
    let settings = NodeSettings {
        connections_per_token_max: 2,
        ..NodeSettings::default()
    };
    let mut shop = Shop::with(settings);
    for conn in 1..=3 {
        shop.node
            .on_connect(ConnId(conn), Shop::peer(COUNTER_1, "shared"), shop.now);
    }
    shop.settle();
    assert_eq!(
        shop.closed.get(&ConnId(3)),
        Some(&CloseCode::TooManyConnections)
    );
    assert!(!shop.closed.contains_key(&ConnId(2)));
    // The driver reports both ends: the refused one, and one that left.
    shop.node.on_disconnect(ConnId(3));
    shop.node.on_disconnect(ConnId(1));
    shop.node
        .on_connect(ConnId(4), Shop::peer(COUNTER_1, "shared"), shop.now);
    shop.settle();
    assert!(!shop.closed.contains_key(&ConnId(4)), "a slot freed up");
}

#[test]
fn revoked_tokens_lose_their_connections_and_only_theirs() {
    let mut shop = Shop::new();
    shop.node
        .on_connect(ConnId(1), Shop::peer(COUNTER_1, "cathy"), shop.now);
    shop.node
        .on_connect(ConnId(2), Shop::peer(COUNTER_1, "cathy"), shop.now);
    shop.node
        .on_connect(ConnId(3), Shop::peer(COUNTER_1, "mia"), shop.now);
    shop.settle();
    shop.node
        .on_tokens_revoked(&[TokenKey::new("cathy"), TokenKey::new("nobody")]);
    shop.settle();
    for conn in [1, 2] {
        assert_eq!(
            shop.closed.get(&ConnId(conn)),
            Some(&CloseCode::SessionClosed),
            "connection {conn} of the revoked token"
        );
        assert!(matches!(
            shop.take(conn)[..],
            [ServerMessage::Error { ref code, .. }] if code == "unauthorized"
        ));
    }
    assert!(
        !shop.closed.contains_key(&ConnId(3)),
        "another token's connection stays"
    );
}

#[test]
fn a_slow_connection_is_closed_at_its_queue_bound_in_bytes() {
    let settings = NodeSettings {
        bytes_per_connection_max: 4_000,
        ..NodeSettings::default()
    };
    let mut shop = Shop::with(settings);
    shop.connect(1, COUNTER_1);
    shop.connect_stalled(2, COUNTER_2);
    let order = shop.fresh();
    shop.accepted(1, order, create(true));
    // Counter 2 never reads: every change adds to its queue.
    for _ in 0..40 {
        shop.accepted(1, order, add_line(shop.fresh()));
        shop.take(1);
    }
    assert_eq!(shop.closed.get(&ConnId(2)), Some(&CloseCode::TooSlow));
    assert!(!shop.closed.contains_key(&ConnId(1)));
}

#[test]
fn a_silent_terminal_is_closed_after_its_missed_heartbeats() {
    let mut shop = Shop::new();
    shop.connect(1, COUNTER_1);
    shop.connect(2, COUNTER_1);
    let heartbeat = shop.settings.heartbeat_ms;
    shop.advance(heartbeat * 2);
    shop.node.on_heard(ConnId(2), shop.now);
    shop.advance(heartbeat + 1);
    assert_eq!(
        shop.closed.get(&ConnId(1)),
        Some(&CloseCode::MissedHeartbeats)
    );
    assert!(!shop.closed.contains_key(&ConnId(2)));
}

#[test]
fn a_failed_commit_answers_unavailable_and_recovers_from_the_store() {
    let mut shop = Shop::new();
    shop.connect(1, COUNTER_1);
    shop.connect(2, COUNTER_2);
    let order = shop.fresh();
    shop.accepted(1, order, create(true));
    shop.take(1);
    shop.take(2);
    shop.commits_mode = Mode::Hold;
    let request = shop.op_request(order, add_line(shop.fresh()));
    shop.message(1, ClientMessage::Op(request.clone()));
    // The commit landed, then reported failure: its outcome is unknown.
    shop.fail_commit(true);
    let answers = shop.take(1);
    assert!(
        matches!(
            &answers[..],
            [
                ServerMessage::Reject {
                    code: RejectCode::Unavailable,
                    ..
                },
                ServerMessage::Order { .. }
            ]
        ),
        "{answers:?}"
    );
    assert!(
        !shop.node.health().is_empty(),
        "failing commits show in health"
    );
    // Recovery read the order back: memory equals the store, and the other counter is told.
    assert_eq!(
        shop.node.draft(OrderId(order)),
        shop.store.orders.get(&OrderId(order))
    );
    let told = shop.take(2);
    assert!(
        matches!(&told[..], [ServerMessage::Order { order }] if order.version == 2),
        "{told:?}"
    );
    // The resend is answered from the store: acknowledged once, not applied twice.
    shop.commits_mode = Mode::Auto;
    assert!(matches!(
        shop.send_op(1, request),
        ServerMessage::Ack {
            version: 2,
            duplicate: true,
            ..
        }
    ));
    shop.accepted(1, order, add_line(shop.fresh()));
    assert!(
        shop.node.health().is_empty(),
        "a commit that works clears it"
    );
}

#[test]
fn a_failed_commit_that_did_not_land_leaves_no_trace() {
    let mut shop = Shop::new();
    shop.connect(1, COUNTER_1);
    shop.connect(2, COUNTER_2);
    let order = shop.fresh();
    shop.commits_mode = Mode::Hold;
    let request = shop.op_request(order, create(true));
    shop.message(1, ClientMessage::Op(request.clone()));
    shop.message(
        1,
        ClientMessage::Presence {
            order_id: Some(OrderId(order)),
        },
    );
    shop.fail_commit(false);
    assert!(matches!(
        shop.take(1)[..],
        [ServerMessage::Reject {
            code: RejectCode::Unavailable,
            ..
        }]
    ));
    assert!(shop.node.draft(OrderId(order)).is_none());
    assert!(
        shop.take(2).iter().all(|message| !matches!(
            message,
            ServerMessage::Order { .. } | ServerMessage::Presence { .. }
        )),
        "nothing of an order that never existed reaches anyone"
    );
    shop.commits_mode = Mode::Auto;
    let answer = shop.send_op(1, request);
    assert!(
        matches!(
            answer,
            ServerMessage::Ack {
                version: 1,
                duplicate: false,
                ..
            }
        ),
        "{answer:?}"
    );
}

#[test]
fn an_op_committed_with_its_sessions_close_is_acknowledged_before_the_connection_closes() {
    let mut shop = Shop::new();
    shop.connect(1, COUNTER_1);
    let order = shop.fresh();
    shop.accepted(1, order, create(false));
    shop.take(1);
    shop.commits_mode = Mode::Hold;
    // A batch in flight, so that the next op and the close wait together.
    let first = shop.op_request(order, add_line(shop.fresh()));
    shop.message(1, ClientMessage::Op(first));
    shop.settle();
    let last = shop.op_request(order, add_line(shop.fresh()));
    let last_id = last.op_id;
    shop.message(1, ClientMessage::Op(last));
    shop.node
        .on_close_session(RequestId(9), Shop::session(COUNTER_1), None);
    shop.settle();
    let in_flight = shop.batches.pop_front().unwrap();
    shop.commit(in_flight, true);
    shop.settle();
    let with_close = shop.batches.pop_front().unwrap();
    assert_eq!(
        (with_close.entries.len(), with_close.session_closes.len()),
        (1, 1),
        "the op and the close share a batch"
    );
    shop.commit(with_close, true);
    shop.settle();
    let received = shop.take(1);
    let ack_of_last = received.iter().position(
        |message| matches!(message, ServerMessage::Ack { op_id, .. } if *op_id == last_id),
    );
    let closing = received
        .iter()
        .position(|message| matches!(message, ServerMessage::Error { .. }));
    assert!(
        matches!((ack_of_last, closing), (Some(ack), Some(error)) if ack < error),
        "the op in the session's report is acknowledged before the close: {received:?}"
    );
    assert_eq!(shop.closed.get(&ConnId(1)), Some(&CloseCode::SessionClosed));
}

#[test]
fn closing_a_session_is_atomic_with_its_ops() {
    let mut shop = Shop::new();
    shop.connect(1, COUNTER_1);
    let order = shop.fresh();
    shop.accepted(1, order, create(false));
    shop.take(1);
    shop.commits_mode = Mode::Hold;
    // A change decided before the close is committed before it.
    let before = shop.op_request(order, add_line(shop.fresh()));
    shop.message(1, ClientMessage::Op(before));
    shop.node
        .on_close_session(RequestId(9), Shop::session(COUNTER_1), None);
    shop.settle();
    // While the close is pending, the session's ops are retryable, never final.
    let during = shop.op_request(order, add_line(shop.fresh()));
    assert!(matches!(
        shop.send_op(1, during.clone()),
        ServerMessage::Reject {
            code: RejectCode::Unavailable,
            ..
        }
    ));
    let first = shop.batches.pop_front().unwrap();
    assert_eq!((first.entries.len(), first.session_closes.len()), (1, 0));
    shop.commit(first, true);
    shop.settle();
    let close = shop.batches.pop_front().unwrap();
    assert_eq!((close.entries.len(), close.session_closes.len()), (0, 1));
    shop.commit(close, true);
    shop.settle();
    assert!(matches!(
        shop.take(1)[..],
        [
            ServerMessage::Ack { .. },
            ServerMessage::Change { .. },
            ServerMessage::Error { .. }
        ]
    ));
    assert_eq!(shop.closed.get(&ConnId(1)), Some(&CloseCode::SessionClosed));
    // Resent after the close: refused for good.
    shop.commits_mode = Mode::Auto;
    let source = Source {
        session_id: Shop::session(COUNTER_1),
        config_id: COUNTER_1,
        terminal: TerminalId(Uuid::from_u128(1)),
        role: Role::Manager,
    };
    shop.node.on_http_op(
        RequestId(10),
        TokenKey::new("token-1"),
        source,
        during,
        shop.now,
    );
    shop.settle();
    assert!(matches!(
        shop.replies.get(&RequestId(10)),
        Some(ServerMessage::Reject {
            code: RejectCode::SessionClosed,
            ..
        })
    ));
}

#[test]
fn a_failing_reload_is_retried_and_shows_in_health() {
    let mut shop = Shop::new();
    shop.asks_mode = Mode::Hold;
    shop.node.on_shop_changed(Reload::Links);
    shop.settle();
    let (ask, _) = shop.asks.pop_front().unwrap();
    shop.node
        .on_store_answer(ask, Err("database locked".to_owned()), shop.now);
    shop.settle();
    assert_eq!(shop.node.health().len(), 1);
    assert!(shop.asks.is_empty(), "not asked again at once");
    shop.advance(1_000);
    let (ask, request) = shop.asks.pop_front().expect("asked again after a delay");
    let answer = shop.store.answer(&request);
    shop.node.on_store_answer(ask, Ok(answer), shop.now);
    assert!(shop.node.health().is_empty());
}

#[test]
fn a_bad_frame_gets_an_error_and_the_connection_lives() {
    let mut shop = Shop::new();
    shop.connect(1, COUNTER_1);
    shop.node.on_message(
        ConnId(1),
        Err(DecodeError {
            code: RejectCode::Invalid,
            message: "not JSON".to_owned(),
            op: None,
        }),
        shop.now,
    );
    shop.settle();
    assert!(matches!(&shop.take(1)[..], [ServerMessage::Error { code, .. }] if code == "invalid"));
    shop.accepted(1, shop.fresh(), create(false));
}

/// Whether `conn` was answered for `op_id` (an ack or a reject), and how.
fn answer_to(shop: &Shop, conn: u64, op_id: OpId) -> Option<ServerMessage> {
    shop.sent
        .get(&ConnId(conn))?
        .iter()
        .find_map(|message| match message {
            ServerMessage::Ack { op_id: id, .. } | ServerMessage::Reject { op_id: id, .. }
                if *id == op_id =>
            {
                Some(message.clone())
            }
            _ => None,
        })
}

#[test]
fn ops_that_reach_a_full_batch_wait_for_the_commit_and_keep_their_order() {
    let settings = NodeSettings {
        ops_per_batch_max: 2,
        ..NodeSettings::default()
    };
    let mut shop = Shop::with(settings);
    shop.connect(1, COUNTER_1);
    shop.commits_mode = Mode::Hold;
    // One batch in flight, one full batch waiting.
    for _ in 0..3 {
        let request = shop.op_request(shop.fresh(), create(false));
        shop.message(1, ClientMessage::Op(request));
    }
    assert!(shop.node.is_saturated());
    // A driver that feeds anyway (or an op whose store read came back now):
    // the op waits, and so does the one behind it on the same connection.
    let order = shop.fresh();
    let create_request = shop.op_request(order, create(false));
    let line_request = shop.op_request(order, add_line(shop.fresh()));
    let (create_id, line_id) = (create_request.op_id, line_request.op_id);
    shop.message(1, ClientMessage::Op(create_request));
    shop.message(1, ClientMessage::Op(line_request));
    assert_eq!(
        answer_to(&shop, 1, create_id),
        None,
        "no answer while the batch is full"
    );
    assert_eq!(answer_to(&shop, 1, line_id), None);
    // The commits end: both are decided, in the order they were sent.
    shop.commits_mode = Mode::Auto;
    shop.settle();
    assert!(matches!(
        answer_to(&shop, 1, create_id),
        Some(ServerMessage::Ack { version: 1, .. })
    ));
    assert!(matches!(
        answer_to(&shop, 1, line_id),
        Some(ServerMessage::Ack { version: 2, .. })
    ));
    assert!(shop.node.is_idle());
}

#[test]
fn an_op_whose_store_read_returns_into_a_full_batch_waits_for_the_commit() {
    // What `bench restart` met: an op with an id the node cannot vouch for
    // waits for a store read; the answer comes while the batch is full.
    let settings = NodeSettings {
        ops_per_batch_max: 2,
        ..NodeSettings::default()
    };
    let mut shop = Shop::with(settings);
    shop.connect(1, COUNTER_1);
    shop.connect(2, COUNTER_1);
    shop.asks_mode = Mode::Hold;
    shop.commits_mode = Mode::Hold;
    // An op id that is not a UUIDv7 (a third-party till's random id): the
    // node cannot tell from the id that the store lacks it, so it asks.
    let old = OpRequest {
        op_id: OpId(Uuid::from_u128(0x5e1f_0c7a_91d2_4e3b_8a6f_2c4d_9b1e_0007)),
        order_id: OrderId(shop.fresh()),
        op: create(false),
        approval: None,
    };
    let old_id = old.op_id;
    let reads = shop.node.stats().store_reads;
    shop.message(2, ClientMessage::Op(old));
    let behind = shop.op_request(shop.fresh(), create(false));
    let behind_id = behind.op_id;
    shop.message(2, ClientMessage::Op(behind));
    for _ in 0..3 {
        let request = shop.op_request(shop.fresh(), create(false));
        shop.message(1, ClientMessage::Op(request));
    }
    assert!(shop.node.is_saturated());
    // The store answers now (the driver may deliver an answer it already had).
    while let Some((ask, request)) = shop.asks.pop_front() {
        let answer = shop.store.answer(&request);
        shop.node.on_store_answer(ask, Ok(answer), shop.now);
    }
    shop.settle();
    assert!(shop.node.stats().store_reads > reads, "the store was asked");
    assert_eq!(
        answer_to(&shop, 2, old_id),
        None,
        "not refused `unavailable`"
    );
    assert_eq!(
        answer_to(&shop, 2, behind_id),
        None,
        "and the op behind it waits too"
    );
    shop.commits_mode = Mode::Auto;
    shop.settle();
    assert!(matches!(
        answer_to(&shop, 2, old_id),
        Some(ServerMessage::Ack {
            duplicate: false,
            ..
        })
    ));
    assert!(matches!(
        answer_to(&shop, 2, behind_id),
        Some(ServerMessage::Ack {
            duplicate: false,
            ..
        })
    ));
}

#[test]
fn ops_past_the_waiting_bound_of_a_full_batch_are_refused_not_queued() {
    let settings = NodeSettings {
        ops_per_batch_max: 2,
        ..NodeSettings::default()
    };
    let mut shop = Shop::with(settings);
    shop.commits_mode = Mode::Hold;
    // Connection 1 fills the batches; the ops of connections 2 and 3 wait (the
    // bound is one batch's worth); the op of connection 4 is refused.
    for conn in 1..=4 {
        shop.connect(conn, COUNTER_1);
    }
    for _ in 0..3 {
        let request = shop.op_request(shop.fresh(), create(false));
        shop.message(1, ClientMessage::Op(request));
    }
    assert!(shop.node.is_saturated());
    let mut waiting = Vec::new();
    for conn in 2..=3 {
        let request = shop.op_request(shop.fresh(), create(false));
        let op_id = request.op_id;
        waiting.push((conn, op_id));
        shop.message(conn, ClientMessage::Op(request));
        assert_eq!(answer_to(&shop, conn, op_id), None, "it waits");
    }
    let refused = shop.op_request(shop.fresh(), create(false));
    assert!(matches!(
        shop.send_op(4, refused),
        ServerMessage::Reject {
            code: RejectCode::Unavailable,
            ..
        }
    ));
    shop.commits_mode = Mode::Auto;
    shop.settle();
    for (conn, op_id) in waiting {
        assert!(matches!(
            answer_to(&shop, conn, op_id),
            Some(ServerMessage::Ack { .. })
        ));
    }
}

#[test]
fn who_has_an_order_open_reaches_those_who_come_to_see_it() {
    let mut shop = Shop::new();
    shop.connect(1, COUNTER_1);
    shop.connect(2, COUNTER_2);
    shop.connect(3, BAR);
    let order = shop.fresh();
    shop.accepted(1, order, create(false));
    // Counter 1 has its private draft open; Counter 2 cannot see it yet.
    shop.message(
        1,
        ClientMessage::Presence {
            order_id: Some(OrderId(order)),
        },
    );
    shop.take(1);
    assert!(shop.take(2).is_empty());
    // Shared: Counter 2 gets the order, then who has it open.
    shop.accepted(1, order, Op::share());
    let told = shop.take(2);
    assert_eq!(kinds(&told), ["order", "presence"]);
    assert!(
        matches!(&told[1], ServerMessage::Presence { terminals, .. } if terminals.len() == 1 && terminals[0].config_id == COUNTER_1)
    );
    // The Bar, linked later, learns it the same way.
    shop.store.links = SyncLinks::from_pairs([(COUNTER_1, COUNTER_2), (COUNTER_1, BAR)]);
    shop.node.on_shop_changed(Reload::Links);
    shop.settle();
    assert_eq!(kinds(&shop.take(3)), ["order", "presence"]);
    // Nobody present, nothing to tell: an order shared unopened sends no presence.
    let unopened = shop.fresh();
    shop.accepted(1, unopened, create(false));
    shop.accepted(1, unopened, Op::share());
    assert_eq!(kinds(&shop.take(2)), ["order"]);
}

#[test]
fn a_connection_that_never_says_hello_is_closed() {
    let mut shop = Shop::new();
    shop.node
        .on_connect(ConnId(1), Shop::peer(COUNTER_1, "t1"), shop.now);
    shop.connect(2, COUNTER_1);
    let deadline = shop.settings.hello_deadline_ms;
    // Answering pings is not enough.
    shop.advance(deadline / 2);
    shop.node.on_heard(ConnId(1), shop.now);
    shop.node.on_heard(ConnId(2), shop.now);
    shop.advance(deadline / 2 + 1);
    assert_eq!(
        shop.closed.get(&ConnId(1)),
        Some(&CloseCode::MissedHeartbeats)
    );
    assert!(!shop.closed.contains_key(&ConnId(2)));
}

/// Another node on the same database commits `order` (at its next version,
/// with `change` applied to it) and the store announces it.
fn commit_elsewhere(shop: &mut Shop, order_id: Uuid, change: impl FnOnce(&mut Order)) -> Order {
    let mut order = shop.store.orders[&OrderId(order_id)].clone();
    change(&mut order);
    order.version += 1;
    shop.store.orders.insert(order.id, order.clone());
    order
}

fn announce(shop: &mut Shop, order: &Order, op_id: Option<OpId>) {
    shop.node.on_orders_changed(vec![OrderChanged {
        order_id: order.id,
        version: order.version,
        op_id,
    }]);
    shop.settle();
}

#[test]
fn what_another_node_commits_reaches_this_nodes_counters_in_version_order() {
    let mut shop = Shop::new();
    shop.connect(1, COUNTER_1);
    shop.connect(2, COUNTER_2);
    let order = shop.fresh();
    shop.accepted(1, order, create(true));
    shop.take(1);
    shop.take(2);

    // One version ahead, the op named: a patch, as if this node had decided it.
    let op_id = OpId(shop.fresh());
    let v2 = commit_elsewhere(&mut shop, order, |order| {
        order.note = Note::parse("table 4").unwrap()
    });
    announce(&mut shop, &v2, Some(op_id));
    let told = shop.take(2);
    assert!(
        matches!(&told[..], [ServerMessage::Change { version: 2, op_id: id, .. }] if *id == op_id),
        "{told:?}"
    );
    assert_eq!(shop.node.draft(OrderId(order)), Some(&v2));
    assert_eq!(kinds(&shop.take(1)), vec!["change"]);
    // An old or repeated announcement changes nothing.
    announce(&mut shop, &v2, Some(op_id));
    assert_eq!(shop.take(2), vec![]);

    // Two versions ahead: the whole order.
    commit_elsewhere(&mut shop, order, |order| {
        order.note = Note::parse("table 5").unwrap()
    });
    let v4 = commit_elsewhere(&mut shop, order, |order| {
        order.note = Note::parse("table 6").unwrap()
    });
    let op_id = OpId(shop.fresh());
    announce(&mut shop, &v4, Some(op_id));
    let told = shop.take(1);
    assert!(
        matches!(&told[..], [ServerMessage::Order { order }] if **order == v4),
        "{told:?}"
    );
    assert_eq!(kinds(&shop.take(2)), vec!["order"]);

    // Paid elsewhere: it leaves every counter here, and later ops are `paid`.
    let paid = commit_elsewhere(&mut shop, order, |order| order.state = OrderState::Paid);
    let op_id = OpId(shop.fresh());
    announce(&mut shop, &paid, Some(op_id));
    let told = shop.take(2);
    assert!(
        matches!(
            &told[..],
            [ServerMessage::Removed {
                reason: RemovedReason::Paid,
                version: 5,
                ..
            }]
        ),
        "{told:?}"
    );
    assert_eq!(
        shop.rejected(2, order, add_line(shop.fresh())),
        RejectCode::Paid
    );
}

#[test]
fn an_announcement_waits_for_this_nodes_own_batch_on_the_order() {
    let mut shop = Shop::new();
    shop.connect(1, COUNTER_1);
    shop.connect(2, COUNTER_2);
    let order = shop.fresh();
    shop.accepted(1, order, create(true));
    shop.take(1);
    shop.take(2);

    // This node decides on version 1 while another node commits version 2.
    shop.commits_mode = Mode::Hold;
    let request = shop.op_request(order, add_line(shop.fresh()));
    shop.message(1, ClientMessage::Op(request));
    let v2 = commit_elsewhere(&mut shop, order, |order| {
        order.note = Note::parse("elsewhere").unwrap()
    });
    let op_id = OpId(shop.fresh());
    announce(&mut shop, &v2, Some(op_id));
    assert!(
        shop.asks.is_empty(),
        "nothing is read while the batch is pending"
    );
    // The store refuses the batch (version 2 is taken): unavailable, and the
    // order is read again; the announcement, one version ahead with its op
    // named, becomes a patch.
    shop.lose_commit(&[order]);
    let answers = shop.take(1);
    assert!(
        matches!(
            &answers[..],
            [
                ServerMessage::Reject {
                    code: RejectCode::Unavailable,
                    ..
                },
                ServerMessage::Change { version: 2, op_id: id, .. }
            ] if *id == op_id
        ),
        "{answers:?}"
    );
    let told = shop.take(2);
    assert!(
        matches!(&told[..], [ServerMessage::Change { version: 2, .. }]),
        "{told:?}"
    );
    assert_eq!(shop.node.draft(OrderId(order)), Some(&v2));
    assert!(shop.node.health().is_empty(), "a lost race is no failure");
}

#[test]
fn a_race_lost_to_another_node_refuses_only_the_ops_on_its_orders() {
    let mut shop = Shop::new();
    shop.connect(1, COUNTER_1);
    shop.connect(2, COUNTER_2);
    let raced = shop.fresh();
    let calm = shop.fresh();
    shop.accepted(1, raced, create(true));
    shop.accepted(2, calm, create(true));
    shop.take(1);
    shop.take(2);

    // A batch with an op on each order is being committed, and the next
    // batch, decided on top of it, holds one more op on each.
    shop.commits_mode = Mode::Hold;
    let opener = shop.op_request(calm, Op::set_note(Note::parse("opener").unwrap()));
    shop.message(2, ClientMessage::Op(opener));
    let lost_first = shop.op_request(raced, add_line(shop.fresh()));
    let kept_first = shop.op_request(calm, add_line(shop.fresh()));
    shop.message(1, ClientMessage::Op(lost_first.clone()));
    shop.message(2, ClientMessage::Op(kept_first.clone()));
    let batch = shop.batches.pop_front().unwrap();
    shop.commit(batch, true);
    shop.settle();
    assert_eq!(shop.batches.len(), 1, "the second batch is being committed");
    let lost_second = shop.op_request(raced, Op::set_note(Note::parse("mine").unwrap()));
    let kept_second = shop.op_request(calm, Op::set_note(Note::parse("kept").unwrap()));
    shop.message(1, ClientMessage::Op(lost_second.clone()));
    shop.message(2, ClientMessage::Op(kept_second.clone()));
    shop.take(1);
    shop.take(2);

    // Another node moved the raced order first; its announcement is not
    // heard yet. The store refuses the batch, and the node reads the order
    // again: while that read is out, ops on it are not decided on the stale copy.
    let elsewhere = commit_elsewhere(&mut shop, raced, |order| {
        order.note = Note::parse("elsewhere").unwrap()
    });
    shop.asks_mode = Mode::Hold;
    shop.lose_commit(&[raced]);
    let refused: Vec<OpId> = shop
        .take(1)
        .iter()
        .filter_map(|message| match message {
            ServerMessage::Reject {
                code: RejectCode::Unavailable,
                op_id,
                ..
            } => Some(*op_id),
            _ => None,
        })
        .collect();
    assert_eq!(refused, vec![lost_first.op_id, lost_second.op_id]);
    assert_eq!(
        shop.node.draft(OrderId(raced)).map(|order| order.version),
        Some(1),
        "memory went back to what the store held before the batch"
    );
    let early = shop.send_op(1, lost_first.clone());
    assert!(
        matches!(
            early,
            ServerMessage::Reject {
                code: RejectCode::Unavailable,
                ..
            }
        ),
        "{early:?}"
    );
    assert!(shop.node.health().is_empty(), "a lost race is no failure");
    assert_eq!(shop.node.stats().commit_conflicts, 1);
    assert_eq!(shop.node.stats().commits_failed, 0);

    // The other ops were decided on what the store still holds: they commit
    // in the next batch, in the order they were decided, without a resend.
    let requeued = shop.batches.pop_front().expect("the kept ops, requeued");
    let op_ids: Vec<OpId> = requeued.entries.iter().map(CommitEntry::op_id).collect();
    assert_eq!(op_ids, vec![kept_first.op_id, kept_second.op_id]);
    shop.commit(requeued, true);
    shop.settle();
    let answers = shop.take(2);
    let acked: Vec<(OpId, u64)> = answers
        .iter()
        .filter_map(|message| match message {
            ServerMessage::Ack {
                op_id,
                version,
                duplicate: false,
                ..
            } => Some((*op_id, *version)),
            _ => None,
        })
        .collect();
    assert_eq!(
        acked,
        vec![(kept_first.op_id, 3), (kept_second.op_id, 4)],
        "{answers:?}"
    );
    assert_eq!(shop.store.orders[&OrderId(calm)].version, 4);

    // The read comes back: both counters get the raced order as the store holds it.
    shop.asks_mode = Mode::Auto;
    shop.settle();
    for conn in [1, 2] {
        let told = shop.take(conn);
        assert!(
            told.iter().any(
                |message| matches!(message, ServerMessage::Order { order } if **order == elsewhere)
            ),
            "{conn}: {told:?}"
        );
    }
    // Resent, the lost ops are decided on it: versions stay contiguous.
    shop.commits_mode = Mode::Auto;
    assert!(matches!(
        shop.send_op(1, lost_first),
        ServerMessage::Ack {
            version: 3,
            duplicate: false,
            ..
        }
    ));
    assert!(matches!(
        shop.send_op(1, lost_second),
        ServerMessage::Ack {
            version: 4,
            duplicate: false,
            ..
        }
    ));
    assert_eq!(shop.store.orders[&OrderId(raced)].version, 4);
    assert_eq!(shop.store.orders[&OrderId(raced)].note.as_str(), "mine");
}

#[test]
fn a_batch_refused_for_a_session_closed_elsewhere_drops_only_that_sessions_ops() {
    let mut shop = Shop::new();
    shop.connect(1, COUNTER_1);
    shop.connect(2, COUNTER_2);
    let closing = shop.fresh();
    let other = shop.fresh();
    shop.accepted(1, closing, create(false));
    shop.accepted(2, other, create(false));
    shop.take(1);
    shop.take(2);

    // Counter 1's session is closed on another node; this node has not heard
    // yet and decides an op of it next to an op of counter 2.
    shop.commits_mode = Mode::Hold;
    let late = shop.op_request(closing, add_line(shop.fresh()));
    shop.message(1, ClientMessage::Op(late.clone()));
    let kept = shop.op_request(other, add_line(shop.fresh()));
    shop.message(2, ClientMessage::Op(kept.clone()));
    let batch = shop.batches.pop_front().unwrap();
    shop.node.on_commit(
        &batch,
        CommitResult::Conflict {
            order_ids: Vec::new(),
            closed_sessions: vec![Shop::session(COUNTER_1)],
        },
        shop.now,
    );
    shop.settle();
    // The session's connection is told and closed, as after a close here.
    assert!(
        matches!(&shop.take(1)[..], [ServerMessage::Error { code, .. }] if code == "session_closed")
    );
    assert_eq!(shop.closed.get(&ConnId(1)), Some(&CloseCode::SessionClosed));
    assert!(shop.node.health().is_empty(), "a lost race is no failure");
    assert_eq!(
        shop.node.draft(OrderId(closing)).map(|order| order.version),
        Some(1)
    );
    // Counter 2's op commits in the next batch without a resend.
    let requeued = shop.batches.pop_front().expect("counter 2's op, requeued");
    assert_eq!(
        requeued
            .entries
            .iter()
            .map(CommitEntry::op_id)
            .collect::<Vec<_>>(),
        vec![kept.op_id]
    );
    shop.commit(requeued, true);
    shop.settle();
    assert!(shop.take(2).iter().any(|message| matches!(
        message,
        ServerMessage::Ack { op_id, version: 2, .. } if *op_id == kept.op_id
    )));
    // Resent (over HTTP, the socket is gone), the late op is refused for good.
    shop.commits_mode = Mode::Auto;
    let source = Source {
        session_id: Shop::session(COUNTER_1),
        config_id: COUNTER_1,
        terminal: TerminalId(Uuid::from_u128(1)),
        role: Role::Manager,
    };
    shop.node.on_http_op(
        RequestId(7),
        TokenKey::new("token-1"),
        source,
        late,
        shop.now,
    );
    shop.settle();
    assert!(matches!(
        shop.replies.get(&RequestId(7)),
        Some(ServerMessage::Reject {
            code: RejectCode::SessionClosed,
            ..
        })
    ));
    assert_eq!(shop.store.orders[&OrderId(closing)].version, 1);
}

#[test]
fn drafts_listed_after_missed_announcements_bring_the_node_up_to_date() {
    let mut shop = Shop::new();
    shop.connect(1, COUNTER_1);
    let kept = shop.fresh();
    let finished = shop.fresh();
    shop.accepted(1, kept, create(false));
    shop.accepted(1, finished, create(false));
    shop.take(1);
    let v2 = commit_elsewhere(&mut shop, kept, |order| {
        order.note = Note::parse("missed").unwrap()
    });
    commit_elsewhere(&mut shop, finished, |order| {
        order.state = OrderState::Cancelled
    });
    // The announcements were lost; the store lists its drafts.
    shop.node.on_drafts_listed(vec![(OrderId(kept), 2)]);
    shop.settle();
    let told = shop.take(1);
    assert_eq!(kinds(&told), vec!["order", "removed"], "{told:?}");
    assert_eq!(shop.node.draft(OrderId(kept)), Some(&v2));
    assert_eq!(shop.node.draft(OrderId(finished)), None);
}
