// users.js: the back office's users section (managers and cashiers), on the generic
// resource section (resource.js).

import { resourceSection } from './resource.js';

export const usersSection = resourceSection({
  key: 'users',
  title: 'Users',
  item: 'User',
  fields: [
    // The server takes a login only when the user is created (PATCH refuses it).
    { name: 'login', label: 'Login', type: 'text', required: true, fixedOnEdit: true },
    { name: 'name', label: 'Name', type: 'text', required: true },
    { name: 'role', label: 'Role', type: 'choice', choices: ['cashier', 'manager'], required: true },
    { name: 'password', label: 'Password', type: 'password', requiredOnCreate: true },
    // A manager's PIN (or their password) approves one price, discount, return or
    // lock release at a till whose counter restricts price control. Stored hashed;
    // never shown.
    { name: 'pin', label: 'PIN (managers: approve at the till)', type: 'pin' },
    // The counters a cashier may open or join; a manager opens any.
    { name: 'config_ids', label: 'Counters (cashiers)', column: 'Counters', type: 'multi', options: 'configs' },
    // New users are active; deactivating one (or a new password) signs them out everywhere.
    { name: 'active', label: 'Active (may sign in)', column: 'Active', type: 'checkbox', editOnly: true },
  ],
  columns: ['login', 'name', 'role', 'config_ids', 'active', 'has_pin'],
  columnLabels: { has_pin: 'PIN' },
});
