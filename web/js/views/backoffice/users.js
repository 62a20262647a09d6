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
  ],
  columns: ['login', 'name', 'role'],
});
