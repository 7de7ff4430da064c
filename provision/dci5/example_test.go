package dci5_test

import (
	"context"
	"fmt"
	"log"
	"strconv"
	"time"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/dci5"
	"github.com/ispkit/ispkit/provision/memstore"
)

// Open a dedicated server through the engine on a DCImanager 5 panel (here
// the fake, over HTTP). The first matching server's install fails, so the
// engine rolls it back and sells the next one.
func ExampleNew() {
	panel := dcimanager5test.NewServer(
		dcimanager5test.WithPowerDuration(2*time.Millisecond),
		dcimanager5test.WithInstallDuration(5*time.Millisecond))
	defer panel.Close()
	admin, pw := panel.Admin()
	client, err := dcimanager5.NewClient(panel.URL(), dcimanager5.WithCredentials(admin, pw),
		dcimanager5.WithPollInterval(time.Millisecond, 5*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}

	catalog := billing.NewCatalog()
	if err := catalog.AddModule(&billing.Module{Kind: billing.KindDCImanager5, Name: "dc1",
		URL: panel.URL(), Username: admin, Password: pw}); err != nil {
		log.Fatal(err)
	}
	if err := catalog.AddTariff(&billing.Tariff{ID: 1, Name: "E3", ProductType: billing.ProductDedicatedServer,
		Modules: []string{"dc1"}, ServerConfig: "E3-16GB", OSTemplate: "ISPsystem__Debian-12-x86_64",
		DomainTemplate: "s@ID@.example.net"}); err != nil {
		log.Fatal(err)
	}
	e, err := provision.New(provision.Config{
		Store:        memstore.New(),
		Catalog:      catalog,
		Dedicated:    map[string]provision.DedicatedBackend{"dc1": dci5.New(client, admin)},
		PollInterval: time.Millisecond,
		// With a real panel leave Reachability nil: the engine dials the
		// server's SSH port. The fake's servers have no network, so ask it.
		Reachability: func(_ context.Context, s provision.Server) error {
			id, _ := strconv.ParseInt(s.ID, 10, 64)
			if st, ok := panel.Server(id); !ok || !st.PowerOn {
				return fmt.Errorf("server %s does not answer", s.ID)
			}
			return nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := panel.FailNextInstall(1); err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	if _, err := e.Open(ctx, provision.OpenRequest{ServiceID: "117", TariffID: 1, Owner: "john.doe", Password: "S3cret-pw"}); err != nil {
		log.Fatal(err)
	}
	svc, _ := e.Store().GetService(ctx, "117")
	failed, _ := panel.Server(1)
	fmt.Println(svc.Status, "on server", svc.Properties[provision.PropServerID], "as", svc.Properties[provision.PropLogin])
	fmt.Println("server 1 disabled:", failed.Disabled, "hostname:", failed.Hostname)
	// Output:
	// Active on server 2 as johndoe
	// server 1 disabled: true hostname: free.ds
}
