// Package fakebackend holds in-memory fakes of the engine's backend
// interfaces, for tests of your own code around provision.Engine and of
// your own backends:
//
//   - [DC], a data center: a provision.DedicatedBackend with servers,
//     addresses, panel users, power and OS installs;
//   - [Pool], an IPmanager: a provision.IPPool of address groups;
//   - [Hosting], an ISPmanager: a provision.HostingBackend of accounts and
//     templates (presets).
//
// They keep the promises the engine relies on, which provision/backendtest
// checks (every fake here passes it, as do the adapters provision/dci5,
// provision/dci6, provision/ipmgr and provision/ispmgr over the HTTP fake
// panels): setting the same owner or domain twice is harmless, removing an
// address that is not there is not an error, an install is not started
// twice while one runs, an allocation is found again by its note, and a
// read after a write sees the write.
//
// Time: power-on and installs complete PowerDelay and InstallDelay after
// they were requested, on the clock in DC.Clock (the wall clock by
// default). Give the fake and the engine (provision.Config.Clock) the same
// fake clock and a test can run a ten-minute install without waiting.
//
// Faults: BeforeCall runs before every call and can fail it without
// effect; AfterCall runs after every call that acted, so a test can stop
// an engine right after a change reached the panel (the answer was
// "lost"); FailInstall, NeverPowerOn and SetOwnerDirect break single
// servers. Calls counts the calls made.
//
// State: State, Server, Used, User and the other accessors return copies
// for assertions. Dump writes a fake's whole state (as JSON with
// encoding/json) and Restore reads it back, with absolute times, so a test
// can keep the panels of a run next to its Store and rebuild both later.
//
// The fakes have no network: they are for tests of the engine's logic.
// Tests of a real panel integration use the HTTP fake panels
// (dcimanager5test, dcimanager6test, ipmanagertest, ispmanagertest).
package fakebackend
