// config.ts - the LDAP connector's settings (zod): where the directory is,
// how to trust it, who to bind as, where customers' entries, group and homes
// go, and how uidNumbers are allocated. One schema, used by
// `gridlink ldap-connector` and by the supervisor's `users.ldap` section.
import { isAbsolute } from 'node:path';

import { z } from 'zod';

export const DIRECTORY_SERVERS = ['389ds', 'openldap'] as const;
export type DirectoryServerKind = (typeof DIRECTORY_SERVERS)[number];

const dn = (what: string) => z.string().min(3).max(1024).regex(/^[A-Za-z][\w-]*=/, `${what} must be a DN such as ou=People,dc=example,dc=org`);

export const ldapConfigSchema = z
  .object({
    url: z
      .string()
      .regex(/^ldaps?:\/\/[^/?#\s]+\/?$/, 'url must be ldap://HOST[:PORT] or ldaps://HOST[:PORT]')
      .describe('The directory: ldaps://HOST:PORT (TLS from the start) or ldap://HOST:PORT (upgraded with StartTLS)'),
    caFile: z.string().min(1).optional().describe('PEM file of the CA that signed the directory\'s certificate; the certificate must also name the host of `url`. Required unless `insecure`'),
    insecure: z
      .boolean()
      .default(false)
      .describe('Do not verify the directory\'s certificate (a warning is logged at every start). For a throw-away test directory only'),
    bindDn: dn('bindDn').describe('DN the connector binds as: it needs read and search under usersDn and on the group, add (and delete, for a refused creation) under usersDn, write on the group\'s memberUid, and (openldap) read, add and write the uidNumber counter entry. `url` must reach a single writable provider (the counter\'s compare-and-swap is atomic on one server)'),
    bindPasswordFile: z.string().min(1).describe('File holding the bind password (mode 0600 or 0400, owned by the connector\'s user)'),
    server: z.enum(DIRECTORY_SERVERS).describe('`389ds` (uidNumbers from its DNA plugin) or `openldap` (uidNumbers from a counter entry updated with compare-and-swap)'),
    usersDn: dn('usersDn').describe('Where customers\' posixAccount entries are created, e.g. ou=People,dc=example,dc=org'),
    group: z
      .object({
        dn: dn('group.dn').describe('The cluster-users posixGroup; each customer is added to it (memberUid)'),
        gidNumber: z.number().int().min(1000, 'group.gidNumber must be 1000 or above: a system group (disk, sudo, docker...) must never be every customer\'s primary group').max(2 ** 31 - 1).describe('Its gidNumber: every customer\'s primary group (1000 or above)'),
      })
      .strict()
      .describe('The cluster-users group'),
    homeRoot: z
      .string()
      .refine(isAbsolute, 'homeRoot must be an absolute path')
      .describe('Homes are HOMEROOT/<address>, created with the customer as owner and mode 0700 before a job is submitted; on the storage every node mounts'),
    loginShell: z.string().refine(isAbsolute, 'loginShell must be an absolute path').default('/bin/bash').describe('The customers\' login shell'),
    uidNumbers: z
      .object({
        min: z.number().int().min(1000).max(2 ** 31 - 2).describe('Lowest uidNumber of a customer (389ds: the start of the DNA range configured on the server)'),
        max: z.number().int().min(1000).max(2 ** 31 - 2).describe('Highest uidNumber of a customer'),
        dnaMagic: z.string().regex(/^-?\d+$/).default('-1').describe('389ds: the DNA plugin\'s dnaMagicRegen value, written as uidNumber so the server assigns one'),
        counterDn: dn('counterDn').optional().describe('openldap: the entry whose uidNumber is the next free one (created at `min` when missing); default cn=gridlink-uid-next,<usersDn>'),
      })
      .strict()
      .refine((u) => u.min <= u.max, 'uidNumbers.min must not be above uidNumbers.max')
      .describe('The customers\' uidNumber range'),
    timeoutMs: z.number().int().min(100).default(10_000).describe('Deadline of each LDAP operation'),
    connectTimeoutMs: z.number().int().min(100).default(5_000).describe('Deadline of the TCP and TLS connection'),
    cacheMs: z.number().int().min(0).default(60_000).describe('How long a user found complete is remembered without asking the directory again'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (!c.insecure && !c.caFile) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['caFile'], message: 'caFile is required: the directory\'s certificate is verified against it (set insecure: true only for a throw-away test directory)' });
  });

export type LdapConfig = z.infer<typeof ldapConfigSchema>;
export type LdapConfigInput = z.input<typeof ldapConfigSchema>;

/** The counter entry of the openldap allocation. */
export const counterDnOf = (c: LdapConfig): string => c.uidNumbers.counterDn ?? `cn=gridlink-uid-next,${c.usersDn}`;
