// screens.js: every screen of the app, by the first part of the URL hash: who may
// see it (see router.js: anyone, user, manager, till) and how it mounts. Adding a
// screen is adding an entry here; its view module lives in views/.

import { mountLogin } from '../views/login.js';
import { mountSession } from '../views/session.js';
import { mountPos } from '../views/pos.js';
import { mountOrders } from '../views/orders.js';
import { mountPayment } from '../views/payment.js';
import { mountReceipt } from '../views/receipt.js';
import { mountPaid } from '../views/paid.js';
import { mountBackOffice } from '../views/backoffice/shell.js';

export const SCREENS = {
  login: { access: 'anyone', mount: (root, app) => mountLogin(root, app) },
  session: { access: 'user', mount: (root, app) => mountSession(root, app) },
  pos: { access: 'till', mount: (root, app) => mountPos(root, app) },
  orders: { access: 'till', mount: (root, app) => mountOrders(root, app) },
  pay: { access: 'till', mount: (root, app, [order_id]) => mountPayment(root, app, { order_id }) },
  receipt: { access: 'till', mount: (root, app, [order_id]) => mountReceipt(root, app, { order_id }) },
  paid: { access: 'till', mount: (root, app, [order_id]) => mountPaid(root, app, { order_id: order_id || null }) },
  office: {
    access: 'manager',
    mount: (root, app, [section, id]) => mountBackOffice(root, app, { section: section || 'configs', id: id || null }),
  },
};
