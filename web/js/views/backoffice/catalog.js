// catalog.js: the catalog collections of the back office, each described for the
// generic resource section (resource.js): products, categories, taxes, customers
// and payment methods.

import { resourceSection } from './resource.js';

export const productsSection = resourceSection({
  key: 'products',
  title: 'Products',
  item: 'Product',
  fields: [
    { name: 'name', label: 'Name', type: 'text', required: true },
    { name: 'price', label: 'Price', type: 'money', required: true },
    { name: 'category_id', label: 'Category', type: 'select', options: 'categories', nullable: true },
    { name: 'tax_ids', label: 'Taxes', type: 'multi', options: 'taxes' },
    { name: 'barcode', label: 'Barcode', type: 'text', nullable: true },
    { name: 'tracks_stock', label: 'Track stock', type: 'checkbox' },
    { name: 'on_hand', label: 'On hand (a change is recorded as a count)', column: 'On hand', type: 'qty', onlyWhen: 'tracks_stock' },
    { name: 'low_stock', label: 'Low stock at (empty: no warning)', column: 'Low at', type: 'qty', nullable: true, onlyWhen: 'tracks_stock' },
  ],
  columns: ['name', 'price', 'category_id', 'tax_ids', 'barcode', 'on_hand', 'low_stock'],
});

export const categoriesSection = resourceSection({
  key: 'categories',
  title: 'Categories',
  item: 'Category',
  fields: [{ name: 'name', label: 'Name', type: 'text', required: true }],
  columns: ['name'],
});

export const taxesSection = resourceSection({
  key: 'taxes',
  title: 'Taxes',
  item: 'Tax',
  fields: [
    { name: 'name', label: 'Name', type: 'text', required: true },
    { name: 'rate', label: 'Rate (%)', column: 'Rate', type: 'percent', required: true },
    { name: 'price_included', label: 'Included in price', column: 'Included', type: 'checkbox' },
  ],
  columns: ['name', 'rate', 'price_included'],
});

export const customersSection = resourceSection({
  key: 'customers',
  title: 'Customers',
  item: 'Customer',
  fields: [
    { name: 'name', label: 'Name', type: 'text', required: true },
    { name: 'email', label: 'Email', type: 'text', nullable: true, input: 'email' },
    { name: 'phone', label: 'Phone', type: 'text', nullable: true, input: 'tel' },
  ],
  columns: ['name', 'email', 'phone'],
});

export const paymentMethodsSection = resourceSection({
  key: 'payment_methods',
  title: 'Payment methods',
  item: 'Payment method',
  fields: [
    { name: 'name', label: 'Name', type: 'text', required: true },
    { name: 'kind', label: 'Kind', type: 'choice', choices: ['cash', 'card', 'other'], required: true },
  ],
  columns: ['name', 'kind'],
});
