package provision_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/fakebackend"
	"github.com/ispkit/ispkit/provision/memstore"
)

// Open a dedicated server against an in-process fake data center whose
// first server fails its OS install: the engine rolls that server back and
// sells the next one.
func ExampleEngine() {
	dc := fakebackend.NewDC()
	dc.AddServers(2, "E3-16GB", nil)
	dc.FailInstall("1")

	cat := billing.NewCatalog()
	if err := cat.AddModule(&billing.Module{Kind: billing.KindDCImanager5, Name: "dc1",
		URL: "https://dci.example.com/dcimgr", Username: "admin", Password: "secret"}); err != nil {
		log.Fatal(err)
	}
	if err := cat.AddTariff(&billing.Tariff{ID: 1, Name: "E3", ProductType: billing.ProductDedicatedServer,
		Modules: []string{"dc1"}, ServerConfig: "E3-16GB", OSTemplate: "ISPsystem__Debian-12-x86_64",
		DomainTemplate: "s@ID@.example.net"}); err != nil {
		log.Fatal(err)
	}
	e, err := provision.New(provision.Config{
		Store:        memstore.New(),
		Catalog:      cat,
		Dedicated:    map[string]provision.DedicatedBackend{"dc1": dc},
		PollInterval: time.Millisecond,
		// The fake has no network: ask it instead of dialling port 22.
		Reachability: func(ctx context.Context, s provision.Server) error { return nil },
	})
	if err != nil {
		log.Fatal(err)
	}
	unsubscribe := e.Subscribe(func(ev provision.Event) {
		switch ev.Type {
		case provision.EventServerFailed:
			fmt.Println("server", ev.ServerID, "failed:", ev.Error)
		case provision.EventWelcome:
			fmt.Println("welcome: server", ev.Properties[provision.PropServerID], "host", ev.Properties[provision.PropDomain])
		}
	})
	defer unsubscribe()

	ctx := context.Background()
	op, err := e.Open(ctx, provision.OpenRequest{ServiceID: "117", TariffID: 1, Owner: "john.doe", Password: "S3cret-pw"})
	if err != nil {
		log.Fatal(err)
	}
	svc, _ := e.Store().GetService(ctx, "117")
	fmt.Println(op.State, svc.Status, svc.Properties[provision.PropLogin])
	// Output:
	// server 1 failed: wait_install: OS install failed: disk not found
	// welcome: server 2 host s117.example.net
	// done Active johndoe
}

// Reconcile the Store with the panels: here a reservation left by an
// operation that finished without selling the server is found, first only
// reported, then removed.
func ExampleEngine_Reconcile() {
	dc := fakebackend.NewDC()
	dc.AddServers(1, "E3-16GB", nil)
	cat := billing.NewCatalog()
	if err := cat.AddModule(&billing.Module{Kind: billing.KindDCImanager5, Name: "dc1",
		URL: "https://dci.example.com/dcimgr", Username: "admin", Password: "secret"}); err != nil {
		log.Fatal(err)
	}
	store := memstore.New()
	e, err := provision.New(provision.Config{Store: store, Catalog: cat, Dedicated: map[string]provision.DedicatedBackend{"dc1": dc}})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	// An operation unknown to the Store holds server 1.
	if err := store.Reserve(ctx, provision.Reservation{Backend: "dc1", ServerID: "1", OperationID: "gone", ServiceID: "9"}); err != nil {
		log.Fatal(err)
	}
	for _, opts := range [][]provision.ReconcileOption{{provision.ReconcileReportOnly()}, nil} {
		rep, err := e.Reconcile(ctx, opts...)
		if err != nil {
			log.Fatal(err)
		}
		for _, f := range rep.Findings {
			fmt.Println(f.Kind, f.Module, f.ServerID, f.Action)
		}
	}
	// Output:
	// stale_reservation dc1 1 reported
	// stale_reservation dc1 1 unreserved
}
