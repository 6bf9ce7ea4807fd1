// The identity connector: one Linux user per customer address, in LDAP.
export { ldapConfigSchema, counterDnOf, DIRECTORY_SERVERS, type LdapConfig, type LdapConfigInput, type DirectoryServerKind } from './config.js';
export { createLdapConnector, readBindPassword, type LdapConnector, type DirectoryUser, type ConnectorOptions, type CreationStep } from './connector.js';
export { DirectoryError, type DirectoryErrorKind } from './errors.js';
export { ensureHome } from './home.js';
