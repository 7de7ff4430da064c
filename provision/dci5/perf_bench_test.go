package dci5_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
	"github.com/ispkit/ispkit/internal/wait"
	"github.com/ispkit/ispkit/ipmanager"
	"github.com/ispkit/ispkit/ipmanager/ipmanagertest"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/dci5"
	"github.com/ispkit/ispkit/provision/ipmgr"
	"github.com/ispkit/ispkit/provision/memstore"
)

// meter counts the requests and the response bytes that pass through it.
type meter struct {
	next  http.RoundTripper
	n     atomic.Int64
	bytes atomic.Int64
}

func (m *meter) RoundTrip(r *http.Request) (*http.Response, error) {
	m.n.Add(1)
	resp, err := m.next.RoundTrip(r)
	if err == nil {
		resp.Body = &countBody{ReadCloser: resp.Body, n: &m.bytes}
	}
	return resp, err
}

type countBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c *countBody) Read(p []byte) (int, error) {
	k, err := c.ReadCloser.Read(p)
	c.n.Add(int64(k))
	return k, err
}

// dataCenter is a DCImanager 5 fake with servers racked on parking
// addresses, an IPmanager fake holding those addresses, and an engine
// with the engine's defaults (Workers, PollInterval, timeouts) opening
// orders through both over HTTP, on one fake clock.
type dataCenter struct {
	clk      *wait.Fake
	srv      *dcimanager5test.Server
	ipm      *ipmanagertest.Server
	dci, ipr *meter
	e        *provision.Engine
	next     atomic.Int64
}

func newDataCenter(b testing.TB, servers int, power, install time.Duration) *dataCenter {
	return newDataCenterWith(b, servers, power, install, nil)
}

// newDataCenterWith is newDataCenter whose engine uses wrap(the dci5
// backend) when wrap is not nil.
func newDataCenterWith(b testing.TB, servers int, power, install time.Duration,
	wrap func(*dataCenter, *dci5.Backend) provision.DedicatedBackend) *dataCenter {
	dc := &dataCenter{clk: wait.NewFake(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))}
	dc.srv = dcimanager5test.NewServer(dcimanager5test.WithoutSeed(), dcimanager5test.WithClock(dc.clk),
		dcimanager5test.WithPowerDuration(power), dcimanager5test.WithInstallDuration(install),
		dcimanager5test.WithConnectionDuration(0))
	b.Cleanup(dc.srv.Close)
	parking := "10.10.0.0/16"
	if err := dc.srv.AddPool("parking", "ipv4", parking); err != nil {
		b.Fatal(err)
	}
	dc.srv.AddOSTemplate("ISPsystem", "Debian-12-x86_64", "linux")
	for i := range servers {
		mac := fmt.Sprintf("0c:c4:7a:%02x:%02x:%02x", (i+1)>>16&0xff, (i+1)>>8&0xff, (i+1)&0xff)
		if _, err := dc.srv.AddServer(dcimanager5test.ServerSpec{Name: fmt.Sprintf("s%05d", i+1), ChassisTemplate: "C1", MAC: mac}); err != nil {
			b.Fatal(err)
		}
	}
	var parked []ipmanagertest.Address
	for _, x := range dc.srv.IPs(0) {
		parked = append(parked, ipmanagertest.Address{IP: netip.MustParseAddr(x.Address), Family: "ipv4", Group: "parking", Domain: provision.FreeHostname, Note: "rack"})
	}
	dc.ipm = ipmanagertest.NewServer(ipmanagertest.WithParkingGroup("parking", parking),
		ipmanagertest.WithGroup("public", "198.51.0.0/16"), ipmanagertest.WithAllocated(parked...))
	b.Cleanup(dc.ipm.Close)

	dc.dci = &meter{next: http.DefaultTransport}
	dc.ipr = &meter{next: http.DefaultTransport}
	admin, pw := dc.srv.Admin()
	c, err := dcimanager5.NewClient(dc.srv.URL(), dcimanager5.WithCredentials(admin, pw), dcimanager5.WithTransport(dc.dci))
	if err != nil {
		b.Fatal(err)
	}
	ic, err := ipmanager.NewClient(dc.ipm.URL(), ipmanager.WithCredentials(ipmanagertest.DefaultUser, ipmanagertest.DefaultPassword),
		ipmanager.WithHTTPClient(&http.Client{Transport: dc.ipr}))
	if err != nil {
		b.Fatal(err)
	}
	cat := billing.NewCatalog()
	_ = cat.AddModule(&billing.Module{Kind: billing.KindDCImanager5, Name: "dci", URL: dc.srv.URL(), Username: admin, Password: pw,
		IPManager: &billing.IPManagerLink{URL: dc.ipm.URL(), Username: ipmanagertest.DefaultUser, Password: ipmanagertest.DefaultPassword,
			ParkingGroup: "parking", PublicGroup: "public"}})
	_ = cat.AddTariff(&billing.Tariff{ID: 1, Name: "C1", ProductType: billing.ProductDedicatedServer, Modules: []string{"dci"},
		ServerConfig: "C1", OSTemplate: "ISPsystem__Debian-12-x86_64", DomainTemplate: "s@ID@.example.net"})
	var dedicated provision.DedicatedBackend = dci5.New(c, admin)
	if wrap != nil {
		dedicated = wrap(dc, dedicated.(*dci5.Backend))
	}
	dc.e, err = provision.New(provision.Config{
		Store: memstore.New(), Catalog: cat, Clock: dc.clk,
		// The lease watcher pauses on the engine's clock too; a lease far
		// longer than any wait keeps its pauses beyond drive's horizon,
		// so the clock moves only when an order pauses (the Store's
		// leases run on the wall clock).
		LeaseDuration: benchLease,
		Dedicated:     map[string]provision.DedicatedBackend{"dci": dedicated},
		IPPools:       map[string]provision.IPPool{"dci": ipmgr.New(ic)},
		Reachability: func(_ context.Context, s provision.Server) error {
			if !s.PoweredOn || s.Installing {
				return fmt.Errorf("no answer")
			}
			return nil
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	return dc
}

// benchLease is the engine's LeaseDuration in the benchmarks: its
// renewals pause a third of it, past driveHorizon.
const benchLease = 1000 * time.Hour

// driveHorizon bounds the pauses drive ends: longer than any pause of a
// wait (2 min) or a step retry (30 s), shorter than the lease watcher's.
const driveHorizon = time.Hour

// drive moves the fake clock to the end of every pause the engine starts
// until ctx ends: an order runs at the speed of its requests, and the
// pauses it chose are what its fake time shows. The lease watcher's
// pauses (beyond driveHorizon) are left alone: ended, they would move the
// clock while an order is busy with its requests.
func (dc *dataCenter) drive(ctx context.Context) {
	for {
		p := dc.clk.Pending()
		now := dc.clk.Now()
		if len(p) > 0 && p[0].Sub(now) <= driveHorizon {
			dc.clk.Set(p[0])
			continue
		}
		// Nothing to end yet: wait for a new pause.
		if _, err := dc.clk.WaitPending(ctx, len(p)+1); err != nil {
			return
		}
	}
}

// open runs one order and returns its length on the fake clock.
func (dc *dataCenter) open(b testing.TB) time.Duration {
	id := strconv.FormatInt(dc.next.Add(1), 10)
	start := dc.clk.Now()
	if _, err := dc.e.Open(b.Context(), provision.OpenRequest{ServiceID: id, TariffID: 1, Owner: "cust" + id, Password: "Secret-pw-1"}); err != nil {
		b.Fatal(err)
	}
	return dc.clk.Now().Sub(start)
}

// BenchmarkRequestsPerOrder opens dedicated servers one after the other
// through the DCImanager 5 and IPmanager fakes (HTTP, the engine's
// defaults, a fake clock that jumps over the engine's pauses) with a 5 s
// power-on and installs of 1 s, 30 s and 10 min. It reports the panel
// requests per order (both panels) and the detection lag: the order's
// length on the fake clock beyond power-on plus install, in seconds and
// as a share of that.
//
//	go test -run '^$' -bench RequestsPerOrder -benchtime 20x -count 6 ./provision/dci5/
func BenchmarkRequestsPerOrder(b *testing.B) {
	const power = 5 * time.Second
	for _, install := range []time.Duration{time.Second, 30 * time.Second, 10 * time.Minute} {
		b.Run("install="+install.String(), func(b *testing.B) {
			dc := newDataCenter(b, b.N+2, power, install)
			ctx, cancel := context.WithCancel(b.Context())
			var wg sync.WaitGroup
			wg.Go(func() { dc.drive(ctx) })
			defer func() { cancel(); wg.Wait() }()
			dc.open(b) // warm-up: logins
			req0 := dc.dci.n.Load() + dc.ipr.n.Load()
			var lag time.Duration
			b.ResetTimer()
			for range b.N {
				lag += dc.open(b) - power - install
			}
			b.StopTimer()
			n := float64(b.N)
			b.ReportMetric(float64(dc.dci.n.Load()+dc.ipr.n.Load()-req0)/n, "requests/order")
			b.ReportMetric(lag.Seconds()/n, "lag-s/order")
			b.ReportMetric(100*lag.Seconds()/n/(power+install).Seconds(), "lag-%")
		})
	}
}

// BenchmarkDataCenterSize opens orders, eight at a time, in data centers of
// 100, 1,000 and 10,000 servers (DCImanager 5 fake over HTTP, 30 s
// install on the fake clock) and reports the DCImanager response bytes and
// requests per order; ns/op is the wall time per order.
//
//	go test -run '^$' -bench DataCenterSize -benchtime 16x -count 6 ./provision/dci5/
func BenchmarkDataCenterSize(b *testing.B) {
	for _, size := range []int{100, 1000, 10000} {
		b.Run("servers="+strconv.Itoa(size), func(b *testing.B) {
			dc := newDataCenter(b, size, 5*time.Second, 30*time.Second)
			ctx, cancel := context.WithCancel(b.Context())
			var wg sync.WaitGroup
			wg.Go(func() { dc.drive(ctx) })
			defer func() { cancel(); wg.Wait() }()
			dc.open(b)
			req0, bytes0 := dc.dci.n.Load(), dc.dci.bytes.Load()
			b.ResetTimer()
			var orders sync.WaitGroup
			sem := make(chan struct{}, 8)
			for range b.N {
				sem <- struct{}{}
				orders.Go(func() {
					defer func() { <-sem }()
					dc.open(b)
				})
			}
			orders.Wait()
			b.StopTimer()
			n := float64(b.N)
			b.ReportMetric(float64(dc.dci.bytes.Load()-bytes0)/n, "panel-B/order")
			b.ReportMetric(float64(dc.dci.n.Load()-req0)/n, "requests/order")
		})
	}
}
