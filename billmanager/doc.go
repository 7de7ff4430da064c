// Package billmanager is a client for an upstream BILLmanager used as a
// licensing server: the BILLmanager (ISPsystem's own, or a reseller's) that
// sells ISPsystem software licenses to the provider's account.
//
// BILLmanager sells ISPsystem licenses with dedicated servers through a
// processing module of type "BILLmanager 5" chosen as the DCImanager
// module's "licensing server" (BILLmanager documentation, "Integration with
// DCImanager", Licensing server). That module orders a license for the
// server's IP from the upstream BILLmanager over the usual mgr5 API
// (https://<host>/billmgr?func=…&out=…, authinfo=user:password or a
// func=auth session), keeps the license with the service, and suspends,
// resumes and releases it with the server. This package is that client:
//
//	c, err := billmanager.NewClient(billmanager.ISPsystemURL,
//		billmanager.WithCredentials(user, password))
//	l, err := c.Order(ctx, billmanager.OrderRequest{Pricelist: 55227, Period: 1,
//		IP: serverIP, Name: billmanager.LicenseName(serviceID, serverName)})
//	l, err = c.Get(ctx, l.ID)       // status, expiry and key (once generated)
//	err = c.Suspend(ctx, l.ID)      // with the server
//	err = c.Resume(ctx, l.ID)
//	err = c.Close(ctx, l.ID)        // back to the pool: free.lic, 0.0.0.0
//
// [LicenseServer] is the small interface the provisioning engine needs;
// *Client implements it.
//
// # Safety
//
// Order is sent exactly once: a lost answer gives an *[UncertainError], and
// [Client.Find] (by the unique name of [LicenseName] and the IP) tells
// whether the license was bought before anything is ordered again. NewKey and
// Prolong are not retried either. Bad input is refused with an
// *[ArgumentError] before anything is sent. Passwords never appear in
// errors or logs; license keys are not printed by License's String,
// GoString or LogValue.
//
// # What is known and what is assumed
//
// Every function and parameter the client sends is listed, with its source,
// in one file (ledger.go), and a test checks that the client sends nothing
// else. In short:
//
//   - documented by ISPsystem: the API address, authinfo and func=auth, the
//     order function soft.order.param and its parameters (pricelist,
//     period 1 or 12, ip, licname, autoprolong, skipbasket=on, sok=ok,
//     clicked_button=finish), the ISPmanager 6 tariff codes (55227 Lite,
//     55228 Pro, 55229 Host, 55230 Business), the license pool of
//     BILLmanager's DCImanager module (name free.lic, IP 0.0.0.0, the
//     license name "Item #<id> addon <server>"), and the columns of the
//     sibling list softexternal;
//   - relied on by a public WHMCS module that resells ISPsystem licenses
//     through BILLmanager: soft.edit (view with lickey and expiredate; change
//     of licname and ip; clicked_button=newkey), soft.suspend, soft.resume,
//     service.prolong (answer doc/doc/newexpiredate), and the order
//     parameters remoteid and project;
//   - assumed: that the soft list has the columns of softexternal, and that
//     item_status holds BILLmanager's numeric item status (2 active,
//     3 suspended) or a status name.
//
// The fake licensing server for tests is in billmanager/billmanagertest.
package billmanager
