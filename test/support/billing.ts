import type { CustomerDetails } from '../../workflows/vocabulary';

/**
 * Every customer and order field of a payment request (docs/fields.md), as a merchant sends them (the country in
 * lower case, which SettleFlow upper-cases), and the customer details they become with the request's Email
 * (factories.ts `paymentBody`). No card data in either.
 */
export const BILLING_FIELDS = {
  Description: 'Order 42',
  CustomerId: 'cust-7',
  CardOwner: 'Jane Doe',
  Firstname: 'Jane',
  Lastname: 'Doe',
  Address: '1 rue de la Paix',
  ZipCode: '75002',
  City: 'Paris',
  Country: 'fra',
  Phone: '+33 1 23 45 67 89',
  BirthDate: '1990-04-01',
  BirthPlace: 'Lyon',
  ClientIp: '203.0.113.7',
};

/** The billing part of those customer details: what a payment request's `billing` holds once validated. */
export const BILLING_DETAILS = {
  firstname: 'Jane',
  lastname: 'Doe',
  address: '1 rue de la Paix',
  zipCode: '75002',
  city: 'Paris',
  country: 'FRA',
  phone: '+33 1 23 45 67 89',
  birthDate: '1990-04-01',
  birthPlace: 'Lyon',
  clientIp: '203.0.113.7',
};

export const BILLING_CUSTOMER: CustomerDetails = {
  email: 'jane@example.com',
  description: 'Order 42',
  customerId: 'cust-7',
  cardOwner: 'Jane Doe',
  ...BILLING_DETAILS,
};
