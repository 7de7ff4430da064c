package dci5_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/dci5"
	"github.com/ispkit/ispkit/provision/memstore"
)

// slowTransport adds a fixed latency to every panel request and counts
// them.
type slowTransport struct {
	latency time.Duration
	n       atomic.Int64
}

func (s *slowTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	s.n.Add(1)
	t := time.NewTimer(s.latency)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		return nil, r.Context().Err()
	case <-t.C:
	}
	return http.DefaultTransport.RoundTrip(r)
}

// BenchmarkOrdersThroughFake opens b.N dedicated servers through the
// DCImanager 5 fake over HTTP, every request delayed by 2 ms, with 16
// workers.
//
//	go test -run '^$' -bench OrdersThroughFake -benchtime 100x ./provision/dci5/
func BenchmarkOrdersThroughFake(b *testing.B) {
	srv := dcimanager5test.NewServer(dcimanager5test.WithoutSeed(), dcimanager5test.WithPowerDuration(0),
		dcimanager5test.WithInstallDuration(0), dcimanager5test.WithConnectionDuration(0))
	srv.Strict(b)
	defer srv.Close()
	if err := srv.AddPool("parking", "ipv4", "10.10.0.0/16"); err != nil {
		b.Fatal(err)
	}
	srv.AddOSTemplate("ISPsystem", "Debian-12-x86_64", "linux")
	for i := range b.N {
		if _, err := srv.AddServer(dcimanager5test.ServerSpec{Name: fmt.Sprintf("s%05d", i+1), ChassisTemplate: "C1"}); err != nil {
			b.Fatal(err)
		}
	}
	admin, pw := srv.Admin()
	tr := &slowTransport{latency: 2 * time.Millisecond}
	c, err := dcimanager5.NewClient(srv.URL(), dcimanager5.WithCredentials(admin, pw), dcimanager5.WithTransport(tr))
	if err != nil {
		b.Fatal(err)
	}
	cat := billing.NewCatalog()
	_ = cat.AddModule(&billing.Module{Kind: billing.KindDCImanager5, Name: "dci", URL: srv.URL(), Username: admin, Password: pw})
	_ = cat.AddTariff(&billing.Tariff{ID: 1, Name: "C1", ProductType: billing.ProductDedicatedServer, Modules: []string{"dci"}, ServerConfig: "C1", OSTemplate: "ISPsystem__Debian-12-x86_64"})
	e, err := provision.New(provision.Config{
		Store: memstore.New(), Catalog: cat, Workers: 16,
		Dedicated:    map[string]provision.DedicatedBackend{"dci": dci5.New(c, admin)},
		PollInterval: time.Millisecond, ClaimInterval: time.Millisecond,
		Reachability: func(context.Context, provision.Server) error { return nil },
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = e.Run(ctx) }()
	tr.n.Store(0)
	b.ResetTimer()
	start := time.Now()
	ids := make([]string, b.N)
	for i := range b.N {
		op, err := e.Submit(ctx, provision.OpenRequest{ServiceID: strconv.Itoa(i + 1), TariffID: 1, Owner: "c" + strconv.Itoa(i), Password: "Secret-pw-1"})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = op.ID
	}
	for _, id := range ids {
		if _, err := e.Wait(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "orders/s")
	b.ReportMetric(float64(tr.n.Load())/float64(b.N), "requests/order")
}
