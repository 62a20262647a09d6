// tillsettings.js: this till's own settings (kept on this device, see app/profile.js):
// above how many units a quantity typed on the numpad waits for a confirmation.

import { h } from '../../dom.js';
import { SETTINGS } from '../../app/profile.js';
import { groupThousands } from '../../limits.js';
import { openDialog, toast } from '../ui.js';

export async function editTillSettings(app) {
  const rule = SETTINGS.qty_confirm_above;
  const saved = await openDialog((close) => {
    const input = h('input', {
      type: 'text', inputmode: 'numeric', id: 'setting-qty-confirm-above', testid: 'setting-qty-confirm-above',
      value: String(app.settings.qty_confirm_above), autofocus: true, autocomplete: 'off',
    });
    const error = h('p', { class: 'form-error', role: 'alert' });
    return h('form', {
      class: 'dialog-form',
      onsubmit: (e) => {
        e.preventDefault();
        const text = input.value.trim().replace(/[,\s]/g, '');
        const value = /^\d+$/.test(text) ? Number(text) : NaN;
        if (!Number.isInteger(value) || value < rule.min || value > rule.max) {
          error.textContent = `A whole number from ${rule.min} to ${groupThousands(rule.max)}.`;
          input.focus();
          return;
        }
        close({ ...app.settings, qty_confirm_above: value });
      },
    },
    h('h2', {}, 'Till settings'),
    h('label', { for: 'setting-qty-confirm-above' }, 'Ask to confirm quantities above'),
    input,
    h('p', { class: 'muted small' }, 'A larger quantity typed on the numpad (or a barcode typed into it by mistake) is not sent until it is confirmed. Kept on this device.'),
    error,
    h('div', { class: 'dialog-actions' },
      h('button', { type: 'button', class: 'btn', testid: 'till-settings-cancel', onclick: () => close(null) }, 'Cancel'),
      h('button', { type: 'submit', class: 'btn btn-primary', testid: 'till-settings-save' }, 'Save')));
  }, { testid: 'till-settings', label: 'Till settings' });
  if (!saved) return;
  app.saveSettings(saved);
  toast('Settings saved', 'info');
}
