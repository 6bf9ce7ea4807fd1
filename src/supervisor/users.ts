// users.ts - who a customer is on the cluster: the Linux user a grid job runs
// as. One interface, resolved before every submission; implementations: the
// local NSS (users-nss.ts, whatever the host's nsswitch serves: files, SSSD,
// nslcd) and the LDAP connector (src/ldap, the identity issue).
import type { Address } from 'viem';

import { CustomerAddressError, customerLogin } from '../util/customer-login.js';

export interface CustomerUser {
  /** Login name: the lower-case 0x address. */
  name: string;
  uid: number;
  gid: number;
  /** The job's working directory and $HOME. */
  home: string;
}

export interface UserResolver {
  readonly kind: string;
  /** The customer's user; throws UserResolveError. Never returns another customer's or a system user. */
  resolve(customer: Address): Promise<CustomerUser>;
}

export class UserResolveError extends Error {
  override readonly name = 'UserResolveError';
  constructor(
    message: string,
    /** true: the directory or NSS could not answer now, retry; false: this customer has no usable user. */
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** The login name of a customer: the address in lower case (util/customer-login.ts). Rejects anything else, not retryable. */
export function customerUserName(customer: string): string {
  try {
    return customerLogin(customer);
  } catch (err) {
    if (err instanceof CustomerAddressError) throw new UserResolveError(err.message, false);
    throw err;
  }
}

/** uids below this are system accounts: a grid job never runs as one. */
export const MIN_CUSTOMER_UID = 1000;
