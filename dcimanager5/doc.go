// Package dcimanager5 is a typed client for the DCImanager 5 API (the
// COREmanager "mgr5" protocol at https://host:1500/dcimgr): servers and
// their flags, the server form, owners, enable/disable, power, switch and
// IPMI connections, IP addresses with automatic allocation, OS templates
// and installation, users, single sign-on, IPMI console and traffic.
//
// It is built for billing integrations (the BILLmanager and WHMCS flow:
// pick a free server, reserve it, power it on, give it IPs, install an OS,
// wait, hand it to the customer) and is safe for concurrent use.
//
//	c, err := dcimanager5.NewClient("https://dci.example.com:1500/dcimgr",
//		dcimanager5.WithCredentials("billing", password),
//		dcimanager5.WithRootCAs(pool))
//	free, err := c.Servers.ListAvailable(ctx, "E3-16GB")
//	err = c.Servers.Install(ctx, free[0].ID, dcimanager5.InstallRequest{
//		Template: "ISPsystem__Debian-12-x86_64", Password: rootPW})
//	srv, err := c.Servers.WaitInstalled(ctx, free[0].ID, nil)
//
// Every method takes a context first and names, in its doc comment, the
// panel function it calls. Ids are int64. The fake panel in the
// dcimanager5test sub-package runs the same calls in tests.
//
// # Authentication
//
// By default every call carries authinfo=user:password in the POST body
// (never in the URL). WithSessionAuth logs in once (func=auth) and sends
// the session id; an expired session is renewed once and the call replayed.
// Users.AsUser acts as an end user through a key exchange (session.newkey,
// then func=auth with the key), Users.LoginURL builds the browser link of
// the "log in to the panel" button, and Client.Su adds su=<user>.
//
// # Retries
//
// Each method declares a retry class; the HTTP core retries accordingly:
//
//	class            methods                                        transport error / 5xx / 429
//	safe read        lists, forms, WhoAmI                           retried (WithRetry, default 4)
//	idempotent       Update, SetOwner, Enable, Disable, PowerOn/Off, retried
//	                 Connections.On/Off, IPs.SetDomain/Delete,
//	                 CancelOperation, Users.Delete,
//	                 Users.SetPassword, IPMIRedirect
//	non-idempotent   IPs.Add, Servers.Install, Servers.Reboot,      sent once; a transport error
//	                 Users.Create                                   says MayHaveHappened
//
// After a non-idempotent call fails in transport, re-read the state
// (IPs.List, Servers.Get, Users.FindByName) before deciding to resend: the
// panel may have executed it. Tuning this table is not a breaking change.
//
// # Errors
//
// Panel errors (doc.error, HTTP 200) are *Error with Type, Object, Value
// and Message; match them with IsNotFound, IsExists, IsAuth, IsValue,
// IsAccess or errors.Is against ErrNotFound etc. Answers that cannot be
// read are *ProtocolError, transport failures *TransportError, invalid
// input caught before sending *ArgumentError. Waiters return
// *InstallFailedError, *PowerError or *WaitError (which wraps the context
// error and says what was still pending). Passwords, authinfo, session
// ids and keys never appear in errors or logs.
//
// # Waiting
//
// Power, install and switch-port changes are asynchronous on the panel:
// the call answers "ok" at once and flags change later. WaitPoweredOn,
// WaitPoweredOff, WaitInstalled, WaitEnabled and
// Connections.WaitConnectionsIdle poll with full-jitter exponential backoff
// (WithPollInterval or WaitOptions) until the condition holds, the context
// ends, or a failure flag appears: WaitInstalled fails as soon as
// operation_failed is shown instead of waiting for a timeout as the WHMCS
// module does. Every poll goes through the rate limiter.
//
// # Choices where the public API description is silent
//
//   - DCImanager 5 has no single-server read: Servers.Get lists all
//     servers and picks one (the waiters do the same on every poll).
//   - The list's owner column is read as a numeric user id; a non-numeric
//     value is kept in Server.OwnerName.
//   - List flags are present-or-absent; a present flag is true whatever its
//     value, except an explicit "off".
//   - Server.Available follows the WHMCS module's rule exactly and also
//     accepts the untranslated ($orig) chassis template or type.
//   - Users.Delete calls user.delete, which no public source confirms for
//     DCImanager 5.
//   - Users.SetPassword calls user.edit with elid, sok=ok, passwd and
//     confirm (the COREmanager convention the ISPmanager clients use); no
//     public source names DCImanager 5's password-change function.
//   - Traffic.Burstable looks for elem rows with id and burst anywhere under
//     doc.reportdata, since the nesting is not documented.
package dcimanager5
