// customer-login.ts - the Linux login name of a grid customer: its Ethereum
// address in lower case ("0x" + 40 hex digits, 42 characters). The one place
// that decides what a customer name may be; the supervisor's user resolvers
// and the LDAP connector both call it before any lookup, so nothing that is
// not an address (a comma, '*', '(', a NUL, a newline, a megabyte) ever
// reaches NSS, a DN or a filter.
import { isAddress } from 'viem';

export class CustomerAddressError extends Error {
  override readonly name = 'CustomerAddressError';
}

/** Longest input quoted back in an error message. */
const QUOTE_MAX = 64;

function quote(v: unknown): string {
  const s = typeof v === 'string' ? v : String(v);
  const shown = JSON.stringify(s.length > QUOTE_MAX ? `${s.slice(0, QUOTE_MAX)}...` : s);
  return s.length > QUOTE_MAX ? `${shown} (${s.length} characters)` : shown;
}

/**
 * The login of `address`. Accepts all-lower-case, all-upper-case and
 * correctly EIP-55 checksummed addresses (the same customer's address in
 * another case is the same user); refuses a mixed-case address whose checksum
 * is wrong (a typo, not a customer) and anything else, with a
 * CustomerAddressError that says why.
 */
export function customerLogin(address: unknown): string {
  if (typeof address !== 'string') throw new CustomerAddressError(`customer address ${quote(address)} is not a string`);
  if (address.length !== 42) throw new CustomerAddressError(`customer address ${quote(address)} is not a 0x-prefixed 20-byte hex address (42 characters)`);
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) throw new CustomerAddressError(`customer address ${quote(address)} is not a 0x-prefixed 20-byte hex address (only 0-9, a-f after 0x)`);
  const hex = address.slice(2);
  // EIP-55: all lower or all upper case carries no checksum; mixed case must be the checksum.
  const unchecked = hex === hex.toLowerCase() || hex === hex.toUpperCase();
  if (!unchecked && !isAddress(address, { strict: true })) throw new CustomerAddressError(`customer address ${quote(address)} is mixed-case with a wrong EIP-55 checksum: write it in lower case or with its correct checksum`);
  return address.toLowerCase();
}
