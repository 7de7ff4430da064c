package main

// This file is the only one that touches the fake panels: their
// constructors, their seeding, and the few state accessors the tests
// assert on.

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
	"github.com/ispkit/ispkit/ipmanager/ipmanagertest"
	"github.com/ispkit/ispkit/ispmanager"
	"github.com/ispkit/ispkit/ispmanager/ispmanagertest"
	"github.com/ispkit/ispkit/provision"
)

// The fake data center: four E3 servers parked on private addresses, a
// public IPmanager group, and an ISPmanager with one account template.
const (
	fakeConfig    = "E3-16GB"
	fakeOS        = "ISPsystem__Debian-12-x86_64"
	fakeOS2       = "ISPsystem__Ubuntu-24.04-amd64"
	fakeRecipe    = "#local__lamp"
	fakePreset    = "Site hosting"
	fakeParking   = "10.0.0.0/24"
	fakePublic    = "203.0.113.0/26"
	fakePublic6   = "2001:db8:42::/120"
	fakeServers   = 4
	fakeFirstPark = 11 // srv-01 parks on 10.0.0.11
)

// fakePanels are DCImanager 5, IPmanager and ISPmanager fakes on loopback,
// real HTTP servers with a stateful model.
type fakePanels struct {
	dci *dcimanager5test.Server
	ipm *ipmanagertest.Server
	isp *ispmanagertest.Server
}

// fakeTiming sets how long the fakes' asynchronous operations take.
type fakeTiming struct {
	install, power time.Duration
	// ports is how long a switch port takes to change (the engine does not
	// wait for it).
	ports time.Duration
}

func startFakes(t fakeTiming) (*fakePanels, error) {
	dci := dcimanager5test.NewServer(dcimanager5test.WithoutSeed(),
		dcimanager5test.WithInstallDuration(t.install),
		dcimanager5test.WithPowerDuration(t.power),
		dcimanager5test.WithConnectionDuration(t.ports))
	dci.AddOSTemplate("ISPsystem", "Debian-12-x86_64", "linux")
	dci.AddOSTemplate("ISPsystem", "Ubuntu-24.04-amd64", "linux")
	dci.AddRecipe(fakeRecipe)
	var parked []ipmanagertest.Address
	for i := range fakeServers {
		ip := fmt.Sprintf("10.0.0.%d", fakeFirstPark+i)
		parked = append(parked, ipmanagertest.Address{IP: netip.MustParseAddr(ip), Family: "ipv4", Group: "parking",
			Domain: provision.FreeHostname, Note: fmt.Sprintf("rack srv-%02d", i+1)})
		if _, err := dci.AddServer(dcimanager5test.ServerSpec{Name: fmt.Sprintf("srv-%02d", i+1), ChassisTemplate: fakeConfig,
			Type: "1U", MAC: fmt.Sprintf("0c:c4:7a:00:02:%02x", i+1), MainIP: ip, IPGroup: "parking"}); err != nil {
			dci.Close()
			return nil, fmt.Errorf("fake DCImanager: %w", err)
		}
	}
	ipm := ipmanagertest.NewServer(
		ipmanagertest.WithParkingGroup("parking", fakeParking),
		ipmanagertest.WithGroup("public", fakePublic, fakePublic6),
		ipmanagertest.WithAllocated(parked...))
	isp := ispmanagertest.NewServer(ispmanagertest.WithPreset(fakePreset,
		ispmanager.Limits{Databases: ispmanager.Int(25), WebDomains: ispmanager.Int(25)}))
	return &fakePanels{dci: dci, ipm: ipm, isp: isp}, nil
}

func (f *fakePanels) Close() {
	f.isp.Close()
	f.ipm.Close()
	f.dci.Close()
}

// panels returns where the fakes listen and their administrator logins.
func (f *fakePanels) panels() panelFlags {
	var p panelFlags
	p.dci.url = f.dci.URL()
	p.dci.user, p.dci.password = f.dci.Admin()
	p.ipm.url, p.ipm.user, p.ipm.password = f.ipm.URL(), ipmanagertest.DefaultUser, ipmanagertest.DefaultPassword
	p.parking, p.public = "parking", "public"
	p.isp.url = f.isp.URL()
	p.isp.user, p.isp.password = f.isp.Admin()
	return p
}

// reachability asks the fake whether a server is up: there is no network
// behind its addresses, so the engine's default TCP dial would fail.
func (f *fakePanels) reachability(ctx context.Context, s provision.Server) error {
	id, _ := strconv.ParseInt(s.ID, 10, 64)
	st, ok := f.dci.Server(id)
	switch {
	case !ok:
		return fmt.Errorf("server %s unknown", s.ID)
	case !st.PowerOn || st.InstallInProgress || st.OperationFailed:
		return fmt.Errorf("%s does not answer on port 22", st.Name)
	}
	return nil
}

// fakeServer is what the tests check of a dedicated server.
type fakeServer struct {
	OwnerID  int64
	Hostname string
	PortsOn  bool
	Disabled bool
}

func (f *fakePanels) server(id string) (fakeServer, bool) {
	n, _ := strconv.ParseInt(id, 10, 64)
	st, ok := f.dci.Server(n)
	if !ok {
		return fakeServer{}, false
	}
	out := fakeServer{OwnerID: st.Owner, Hostname: st.Hostname, Disabled: st.Disabled}
	for _, c := range f.dci.Connections(n) {
		if c.Type == "Switch" {
			out.PortsOn = c.On && !c.InProgress
		}
	}
	return out, true
}

// dedicatedLogin reports whether the DCImanager user can log in with
// password (through the panel's own login, over HTTP).
func (f *fakePanels) dedicatedLogin(ctx context.Context, user, password string) bool {
	c, err := dcimanager5.NewClient(f.dci.URL(), dcimanager5.WithCredentials(user, password))
	if err != nil {
		return false
	}
	_, err = c.WhoAmI(ctx)
	return err == nil
}

// hostingUser reports whether the ISPmanager account exists and is active.
func (f *fakePanels) hostingUser(name string) (exists, active bool) {
	u, ok := f.isp.User(name)
	return ok, ok && u.Active
}

func (f *fakePanels) hostingLogin(user, password string) bool {
	return f.isp.CheckPassword(user, password)
}
