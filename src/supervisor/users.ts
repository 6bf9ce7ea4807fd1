// users.ts - who a customer is on the cluster: the Linux user a grid job runs
// as. One interface, resolved before every submission; implementations: the
// local NSS (users-nss.ts, whatever the host's nsswitch serves: files, SSSD,
// nslcd) and the LDAP connector (src/ldap, the identity issue).
import { getAddress, isAddress, type Address } from 'viem';

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

/** The login name of a customer: the address in lower case. Rejects anything that is not a 20-byte hex address. */
export function customerUserName(customer: string): string {
  if (typeof customer !== 'string' || !isAddress(customer, { strict: false })) {
    throw new UserResolveError(`customer ${JSON.stringify(String(customer).slice(0, 64))} is not a 0x-prefixed 20-byte hex address`, false);
  }
  return getAddress(customer).toLowerCase();
}

/** uids below this are system accounts: a grid job never runs as one. */
export const MIN_CUSTOMER_UID = 1000;
