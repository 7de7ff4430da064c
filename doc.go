// Package ispkit is a Go SDK for the ISPsystem hosting panels and for the
// billing-side lifecycle that BILLmanager and the WHMCS modules run on top of
// them.
//
// The module is organised as one package per panel plus the billing model and
// the provisioning engine:
//
//   - [github.com/ispkit/ispkit/dcimanager5]: DCImanager 5 (bare-metal servers, mgr5 protocol)
//   - [github.com/ispkit/ispkit/dcimanager6]: DCImanager 6 (REST API)
//   - [github.com/ispkit/ispkit/ipmanager]: IPmanager 5 (IP address pools)
//   - [github.com/ispkit/ispkit/ispmanager]: ISPmanager 5 (hosting accounts)
//   - [github.com/ispkit/ispkit/billing]: tariffs, processing modules, macros, limits
//   - [github.com/ispkit/ispkit/provision]: the durable lifecycle engine
//
// Every panel package has a companion "…test" package holding a fake panel: a
// real HTTP server with a stateful model that users can run in their own tests.
package ispkit

// Version is the version of the ispkit module. It is sent in the User-Agent
// header of every request.
const Version = "0.1.0"
