//! The engine's decisions, driven as the server drives it: connect, decide,
//! commit, and check what each connection is told.

use possync_core::*;
use possync_engine::*;
use possync_protocol::{OpRequest, RemovedReason, ServerMessage};
use std::collections::BTreeMap;
use uuid::Uuid;

const BAR: ConfigId = ConfigId(1);
const COUNTER_1: ConfigId = ConfigId(2);
const COUNTER_2: ConfigId = ConfigId(3);

fn name(text: &str) -> Name {
    Name::parse(text).unwrap()
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | n)
}

struct Shop {
    engine: Engine,
    now: Timestamp,
    next_id: u128,
}

fn source(config_id: ConfigId, terminal: u128) -> OpSource {
    OpSource {
        session_id: SessionId(config_id.0 * 10),
        config_id,
        terminal: TerminalId(id(terminal)),
    }
}

impl Shop {
    fn new() -> Self {
        let products = vec![Product {
            id: ProductId(1),
            name: name("Espresso"),
            price: Money::new(250).unwrap(),
            category_id: None,
            barcode: None,
            tax_ids: vec![TaxId(1)],
            tracks_stock: false,
            on_hand: Quantity::ZERO,
        }];
        let taxes = vec![Tax {
            id: TaxId(1),
            name: name("VAT 10%"),
            rate: "10".parse().unwrap(),
            price_included: true,
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
        let world = World {
            configs: vec![
                ConfigInfo {
                    id: BAR,
                    name: name("Bar"),
                    auto_share: false,
                },
                ConfigInfo {
                    id: COUNTER_1,
                    name: name("Counter 1"),
                    auto_share: false,
                },
                ConfigInfo {
                    id: COUNTER_2,
                    name: name("Counter 2"),
                    auto_share: false,
                },
            ],
            links: SyncLinks::from_pairs([(COUNTER_1, COUNTER_2)]),
            catalog: EngineCatalog::build(&products, &taxes, &[], &methods),
            orders: Vec::new(),
        };
        Shop {
            engine: Engine::new(EngineSettings::default(), world),
            now: Timestamp::from_unix_millis(1_800_000_000_000),
            next_id: 1000,
        }
    }

    fn connect(&mut self, conn: u64, config_id: ConfigId) -> Vec<ServerMessage> {
        let info = ConnectionInfo {
            session_id: SessionId(config_id.0 * 10),
            config_id,
            terminal: TerminalId(id(u128::from(conn))),
        };
        self.engine.connect(ConnId(conn), info, &BTreeMap::new())
    }

    fn fresh(&mut self) -> Uuid {
        self.next_id += 1;
        id(self.next_id)
    }

    fn op(&mut self, from: &OpSource, order_id: Uuid, op: Op) -> (OpRequest, Decision) {
        let request = OpRequest {
            op_id: OpId(self.fresh()),
            order_id: OrderId(order_id),
            op,
        };
        let decision = self.engine.decide(from, &request, None, self.now);
        self.engine.commit_succeeded();
        (request, decision)
    }

    fn accepted(&mut self, from: &OpSource, order_id: Uuid, op: Op) -> Decision {
        let (_, decision) = self.op(from, order_id, op);
        assert!(
            matches!(
                decision.answer,
                ServerMessage::Ack {
                    duplicate: false,
                    ..
                }
            ),
            "{:?}",
            decision.answer
        );
        decision
    }

    fn rejected(&mut self, from: &OpSource, order_id: Uuid, op: Op) -> RejectCode {
        match self.op(from, order_id, op).1.answer {
            ServerMessage::Reject { code, .. } => code,
            other => panic!("expected a reject, got {other:?}"),
        }
    }
}

fn create() -> Op {
    Op::Create {
        config_id: None,
        customer_id: None,
        note: None,
        share: None,
    }
}

fn add_line(line: Uuid) -> Op {
    Op::AddLine {
        line_id: LineId(line),
        product_id: ProductId(1),
        qty: Quantity::ONE,
        unit_price: None,
        discount: None,
        note: None,
    }
}

fn recipients(decision: &Decision, kind: &str) -> Vec<u64> {
    decision
        .deliveries
        .iter()
        .filter(|delivery| serde_json::to_value(&*delivery.message).unwrap()["type"] == kind)
        .flat_map(|delivery| delivery.to.iter().map(|conn| conn.0))
        .collect()
}

#[test]
fn a_private_draft_is_seen_only_by_its_config_until_shared() {
    let mut shop = Shop::new();
    shop.connect(1, COUNTER_1);
    shop.connect(2, COUNTER_2);
    shop.connect(3, BAR);
    let counter_1 = source(COUNTER_1, 1);
    let order = shop.fresh();
    let created = shop.accepted(&counter_1, order, create());
    assert_eq!(recipients(&created, "order"), vec![1]);
    let line = shop.fresh();
    let added = shop.accepted(&counter_1, order, add_line(line));
    assert_eq!(recipients(&added, "change"), vec![1]);
    let shared = shop.accepted(&counter_1, order, Op::Share {});
    assert_eq!(recipients(&shared, "change"), vec![1]);
    assert_eq!(
        recipients(&shared, "order"),
        vec![2],
        "the linked counter gets the whole order"
    );
    // The unlinked bar cannot edit it and does not learn it exists.
    assert_eq!(
        shop.rejected(
            &source(BAR, 3),
            order,
            Op::SetNote {
                note: Note::parse("x").unwrap()
            }
        ),
        RejectCode::NotFound
    );
    let unshared = shop.accepted(&counter_1, order, Op::Unshare {});
    assert_eq!(recipients(&unshared, "removed"), vec![2]);
}

#[test]
fn concurrent_add_qty_from_two_counters_sums() {
    let mut shop = Shop::new();
    let counter_1 = source(COUNTER_1, 1);
    let counter_2 = source(COUNTER_2, 2);
    let order = shop.fresh();
    shop.accepted(
        &counter_1,
        order,
        Op::Create {
            config_id: None,
            customer_id: None,
            note: None,
            share: Some(true),
        },
    );
    let line = shop.fresh();
    shop.accepted(&counter_1, order, add_line(line));
    shop.accepted(
        &counter_1,
        order,
        Op::AddQty {
            line_id: LineId(line),
            delta: "2".parse().unwrap(),
        },
    );
    shop.accepted(
        &counter_2,
        order,
        Op::AddQty {
            line_id: LineId(line),
            delta: "3".parse().unwrap(),
        },
    );
    let draft = shop.engine.draft(OrderId(order)).unwrap();
    assert_eq!(draft.lines[0].qty, "6".parse().unwrap());
    assert_eq!(draft.version, 4);
    assert_eq!(draft.totals.total.minor(), 1500);
}

#[test]
fn a_resent_op_is_a_duplicate_not_a_second_effect() {
    let mut shop = Shop::new();
    let counter_1 = source(COUNTER_1, 1);
    let order = shop.fresh();
    shop.accepted(&counter_1, order, create());
    let line = shop.fresh();
    shop.accepted(&counter_1, order, add_line(line));
    let (request, _) = shop.op(
        &counter_1,
        order,
        Op::AddQty {
            line_id: LineId(line),
            delta: Quantity::ONE,
        },
    );
    let again = shop.engine.decide(&counter_1, &request, None, shop.now);
    shop.engine.commit_succeeded();
    assert!(
        matches!(
            again.answer,
            ServerMessage::Ack {
                duplicate: true,
                version: 3,
                ..
            }
        ),
        "{:?}",
        again.answer
    );
    assert!(again.deliveries.is_empty());
    assert_eq!(
        shop.engine.draft(OrderId(order)).unwrap().lines[0].qty,
        "2".parse().unwrap()
    );
    // A reject is remembered too.
    let (bad, first) = shop.op(
        &counter_1,
        order,
        Op::SetQty {
            line_id: LineId(id(shop.next_id + 77)),
            qty: Quantity::ONE,
        },
    );
    let second = shop.engine.decide(&counter_1, &bad, None, shop.now);
    assert_eq!(first.answer, second.answer);
}

#[test]
fn the_store_remembers_what_the_engine_forgot() {
    let mut shop = Shop::new();
    let counter_1 = source(COUNTER_1, 1);
    let request = OpRequest {
        op_id: OpId(id(5)),
        order_id: OrderId(id(6)),
        op: create(),
    };
    let stored = OpOutcome::Accepted {
        order_id: OrderId(id(6)),
        version: 1,
    };
    let decision = shop
        .engine
        .decide(&counter_1, &request, Some(stored), shop.now);
    assert!(matches!(
        decision.answer,
        ServerMessage::Ack {
            duplicate: true,
            version: 1,
            ..
        }
    ));
    assert!(shop.engine.batch_entries().is_empty());
}

#[test]
fn a_payment_lock_blocks_others_and_expires_with_its_lease() {
    let mut shop = Shop::new();
    let counter_1 = source(COUNTER_1, 1);
    let counter_2 = source(COUNTER_2, 2);
    let order = shop.fresh();
    shop.accepted(
        &counter_1,
        order,
        Op::Create {
            config_id: None,
            customer_id: None,
            note: None,
            share: Some(true),
        },
    );
    let line = shop.fresh();
    shop.accepted(&counter_1, order, add_line(line));
    shop.accepted(&counter_1, order, Op::BeginPayment {});
    let (_, decision) = shop.op(
        &counter_2,
        order,
        Op::AddQty {
            line_id: LineId(line),
            delta: Quantity::ONE,
        },
    );
    match decision.answer {
        ServerMessage::Reject {
            code: RejectCode::Locked,
            message,
            order: Some(_),
            ..
        } => {
            assert!(message.contains("Counter 1"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    shop.now = shop.now.plus_millis(EngineSettings::default().lease_ms + 1);
    shop.accepted(
        &counter_2,
        order,
        Op::AddQty {
            line_id: LineId(line),
            delta: Quantity::ONE,
        },
    );
    assert_eq!(
        shop.engine.draft(OrderId(order)).unwrap().lock,
        None,
        "the expired lock is dropped"
    );
}

#[test]
fn two_counters_paying_at_once_pay_once() {
    let mut shop = Shop::new();
    shop.connect(1, COUNTER_1);
    shop.connect(2, COUNTER_2);
    let counter_1 = source(COUNTER_1, 1);
    let counter_2 = source(COUNTER_2, 2);
    let order = shop.fresh();
    shop.accepted(
        &counter_1,
        order,
        Op::Create {
            config_id: None,
            customer_id: None,
            note: None,
            share: Some(true),
        },
    );
    shop.accepted(&counter_1, order, add_line(id(shop.next_id + 50)));
    let pay = || Op::Pay {
        payments: vec![PaymentInput {
            method_id: PaymentMethodId(1),
            amount: Money::new(500).unwrap(),
        }],
        expected_total: Money::new(250).unwrap(),
        invoice: None,
    };
    let paid = shop.accepted(&counter_1, order, pay());
    assert_eq!(recipients(&paid, "removed"), vec![1, 2]);
    assert_eq!(shop.rejected(&counter_2, order, pay()), RejectCode::Paid);
    assert_eq!(
        shop.rejected(
            &counter_1,
            order,
            Op::SetNote {
                note: Note::default()
            }
        ),
        RejectCode::Paid
    );
    assert_eq!(
        shop.rejected(&counter_2, order, create()),
        RejectCode::Exists
    );
}

#[test]
fn a_failed_commit_puts_everything_back() {
    let mut shop = Shop::new();
    let counter_1 = source(COUNTER_1, 1);
    let order = shop.fresh();
    shop.accepted(&counter_1, order, create());
    let line = shop.fresh();
    let request = OpRequest {
        op_id: OpId(id(9)),
        order_id: OrderId(order),
        op: add_line(line),
    };
    shop.engine.decide(&counter_1, &request, None, shop.now);
    let second = shop.fresh();
    let create_request = OpRequest {
        op_id: OpId(id(10)),
        order_id: OrderId(second),
        op: create(),
    };
    shop.engine
        .decide(&counter_1, &create_request, None, shop.now);
    assert_eq!(shop.engine.batch_entries().len(), 2);
    shop.engine.commit_failed();
    assert!(shop.engine.draft(OrderId(order)).unwrap().lines.is_empty());
    assert!(shop.engine.draft(OrderId(second)).is_none());
    // Decided anew, not answered as a duplicate.
    let again = shop.engine.decide(&counter_1, &request, None, shop.now);
    assert!(matches!(
        again.answer,
        ServerMessage::Ack {
            duplicate: false,
            version: 2,
            ..
        }
    ));
}

#[test]
fn catch_up_sends_what_the_terminal_lacks_and_removes_what_it_lost() {
    let mut shop = Shop::new();
    let counter_1 = source(COUNTER_1, 1);
    let kept = shop.fresh();
    let stale = shop.fresh();
    let paid = shop.fresh();
    for order in [kept, stale, paid] {
        shop.accepted(
            &counter_1,
            order,
            Op::Create {
                config_id: None,
                customer_id: None,
                note: None,
                share: Some(true),
            },
        );
    }
    shop.accepted(
        &counter_1,
        stale,
        Op::SetNote {
            note: Note::parse("table 4").unwrap(),
        },
    );
    shop.accepted(&counter_1, paid, add_line(id(shop.next_id + 99)));
    shop.accepted(
        &counter_1,
        paid,
        Op::Pay {
            payments: vec![PaymentInput {
                method_id: PaymentMethodId(2),
                amount: Money::new(250).unwrap(),
            }],
            expected_total: Money::new(250).unwrap(),
            invoice: None,
        },
    );
    let known = BTreeMap::from([(OrderId(kept), 1), (OrderId(stale), 1), (OrderId(paid), 2)]);
    let info = ConnectionInfo {
        session_id: SessionId(30),
        config_id: COUNTER_2,
        terminal: TerminalId(id(2)),
    };
    let messages = shop.engine.connect(ConnId(2), info, &known);
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(
        matches!(&messages[0], ServerMessage::Order { order } if order.id == OrderId(stale) && order.version == 2)
    );
    assert!(matches!(
        &messages[1],
        ServerMessage::Removed {
            reason: RemovedReason::Paid,
            version: 3,
            ..
        }
    ));
    assert_eq!(messages[2], ServerMessage::Synced);
}

#[test]
fn linking_later_brings_shared_drafts_and_unlinking_removes_them() {
    let mut shop = Shop::new();
    shop.connect(3, BAR);
    let counter_1 = source(COUNTER_1, 1);
    let order = shop.fresh();
    shop.accepted(
        &counter_1,
        order,
        Op::Create {
            config_id: None,
            customer_id: None,
            note: None,
            share: Some(true),
        },
    );
    let linked = shop
        .engine
        .links()
        .set_sync_with(BAR, &[COUNTER_1], |_| true)
        .unwrap();
    let deliveries = shop.engine.set_links(linked);
    assert_eq!(deliveries.len(), 1);
    assert!(matches!(
        &*deliveries[0].message,
        ServerMessage::Order { .. }
    ));
    let unlinked = shop
        .engine
        .links()
        .set_sync_with(BAR, &[], |_| true)
        .unwrap();
    let deliveries = shop.engine.set_links(unlinked);
    assert!(matches!(
        &*deliveries[0].message,
        ServerMessage::Removed {
            reason: RemovedReason::Unshared,
            ..
        }
    ));
}

#[test]
fn presence_is_told_to_those_who_may_see_the_order() {
    let mut shop = Shop::new();
    shop.connect(1, COUNTER_1);
    shop.connect(2, COUNTER_2);
    shop.connect(3, BAR);
    let order = shop.fresh();
    shop.accepted(
        &source(COUNTER_1, 1),
        order,
        Op::Create {
            config_id: None,
            customer_id: None,
            note: None,
            share: Some(true),
        },
    );
    let deliveries = shop.engine.set_presence(ConnId(2), Some(OrderId(order)));
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].to, vec![ConnId(1), ConnId(2)]);
    // The bar may not see the order: its presence there is ignored.
    assert!(
        shop.engine
            .set_presence(ConnId(3), Some(OrderId(order)))
            .is_empty()
    );
    let left = shop.engine.disconnect(ConnId(2));
    assert!(
        matches!(&*left[0].message, ServerMessage::Presence { terminals, .. } if terminals.is_empty())
    );
}

#[test]
fn who_has_an_order_open_reaches_those_who_come_to_see_it() {
    let mut shop = Shop::new();
    shop.connect(1, COUNTER_1);
    shop.connect(2, COUNTER_2);
    shop.connect(3, BAR);
    let counter_1 = source(COUNTER_1, 1);
    let order = shop.fresh();
    shop.accepted(&counter_1, order, create());
    // Counter 1 has its private draft open; Counter 2 cannot see it yet.
    let deliveries = shop.engine.set_presence(ConnId(1), Some(OrderId(order)));
    assert_eq!(deliveries[0].to, vec![ConnId(1)]);
    // Shared: Counter 2 gets the order, then who has it open.
    let shared = shop.accepted(&counter_1, order, Op::Share {});
    assert_eq!(recipients(&shared, "order"), vec![2]);
    assert_eq!(recipients(&shared, "presence"), vec![2]);
    let told = shared
        .deliveries
        .iter()
        .find_map(|delivery| match &*delivery.message {
            ServerMessage::Presence { terminals, .. } => Some(terminals.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].config_id, COUNTER_1);
    // The Bar, linked later, learns it the same way.
    let linked = shop
        .engine
        .links()
        .set_sync_with(BAR, &[COUNTER_1], |_| true)
        .unwrap();
    let deliveries = shop.engine.set_links(linked);
    let kinds: Vec<String> = deliveries
        .iter()
        .map(|delivery| {
            serde_json::to_value(&*delivery.message).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(kinds, ["order", "presence"]);
    assert!(
        deliveries
            .iter()
            .all(|delivery| delivery.to == vec![ConnId(3)])
    );
    // Nobody present, nothing to tell: a second order shared unopened sends no presence.
    let unopened = shop.fresh();
    shop.accepted(&counter_1, unopened, create());
    let shared = shop.accepted(&counter_1, unopened, Op::Share {});
    assert!(recipients(&shared, "presence").is_empty());
}

#[test]
fn a_closed_session_cannot_edit() {
    let mut shop = Shop::new();
    let counter_1 = source(COUNTER_1, 1);
    shop.engine.session_closed(counter_1.session_id);
    let order = shop.fresh();
    assert_eq!(
        shop.rejected(&counter_1, order, create()),
        RejectCode::SessionClosed
    );
}
