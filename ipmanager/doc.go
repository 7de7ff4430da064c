// Package ipmanager is a typed client for IPmanager 5, the ISPsystem panel
// that keeps the pools of IP addresses used by BILLmanager, DCImanager 5 and
// VMmanager 5. It speaks the COREmanager ("mgr5") protocol at the panel
// entry point, usually https://host:1500/ipmgr, in out=json.
//
// Addresses belong to groups (the panel's "IP address groups", wire name
// iptype), such as "public" and a parking group. Parking works through
// groups: a server waiting for a buyer holds an address from a parking group
// (usually private); when it is sold it gets a public address and the
// parking address goes back ([Client.Unpark]), unless the integration is
// configured never to change addresses, in which case the parking address is
// re-typed to the public group ([Client.ChangeGroup]).
//
// # The project's assumptions about the wire protocol
//
// The public facts about IPmanager stop at the ip list (columns ip, domain,
// iptype, note) and the ip.edit form whose first parameter is family (vendor
// function reference; see the wire ledger, Ledger). Everything else below is this project's choice, made by
// analogy with DCImanager's iplist.edit and ISPmanager's ipaddr.edit, and the
// fake panel in [github.com/ispkit/ispkit/ipmanager/ipmanagertest] behaves the
// same way. Check it against a real panel before depending on it.
//
//   - List: func=ip, optionally with iptype, domain, family and
//     state=used|free|all. Rows carry ip, domain, iptype, note and, when the
//     panel sends them, family and the flag "free" (a pool address without an
//     allocation). The client filters the rows again itself, so a panel that
//     ignores the filter parameters still gives the right answer; a panel
//     that lists only allocated addresses simply never lists free ones.
//   - Get: func=ip.edit elid=<address> without sok (the edit form).
//   - Allocate: func=ip.edit sok=ok family=ipv4|ipv6 iptype=<group>
//     domain=<fqdn> note=<text>, with ip=<address> only for a fixed address.
//     Without ip the panel takes the next free address of the family in the
//     group, skipping hidden ranges; a named address may come from a hidden
//     range. The new address is read from the answer's id element, or from
//     its ip element.
//   - No free address: the panel answers doc.error type "limit", object
//     "iptype", value = the group. The client also recognises an answer whose
//     message says "no free" (any type) after an allocation. Both come back
//     as a [*PoolExhaustedError] that matches [ErrPoolExhausted].
//   - Change (SetDomain, SetNote, ChangeGroup): the client reads the form
//     with ip.edit elid=<address> and sends it back whole with sok=ok and the
//     changed field, because mgr5 forms may clear fields that are not sent
//     (the WHMCS DCImanager module resends every field for the same reason).
//   - Release: func=ip.delete elid=<address>[, <address>…].
//   - Groups: func=iptype, rows name, comment, used, free and the flag
//     "parking".
//   - Error types: unknown address → "missed" ([IsNotFound]); an address
//     already allocated → "exists" ([IsExists]); bad field → "value"
//     ([IsValue]); unknown group → "missed", object "iptype".
//
// # Retries and allocations that may have happened
//
// List, Get and Groups are safe reads and are retried on transport errors
// and 5xx answers. SetDomain, SetNote, ChangeGroup and Release are
// idempotent writes and are retried too; a retried Release whose first
// attempt went through reports [IsNotFound], which the caller can treat as
// done. Allocate is not idempotent and is sent exactly once: when the
// request may have reached the panel but no answer was read (connection
// dropped, timeout, unreadable answer), the error matches
// [ErrMayHaveHappened]. Do not simply send it again: look for the address
// first with [Client.FindByDomainNote]. Giving every allocation a unique
// note (an order or operation id) makes that check exact.
//
// Secrets never appear in logs or errors: credentials travel in the POST
// body (authinfo or a session id) and are redacted from every log record.
package ipmanager
