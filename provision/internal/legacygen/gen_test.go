//go:build legacygen

// Package legacygen produced provision/testdata/v1: a SQLite Store written
// by the first release of the engine (operations recorded with
// map[string]string Input and Data, before the typed step graphs), holding
// operations stopped at interesting points, and a JSON dump of the fake
// panels as they were at that moment. provision's migration test resumes
// every one of them with the current engine.
//
// It ran against the engine of commit 94b5736 (the last one with the v1
// Store format) and cannot compile against later releases, which is why
// it sits behind the legacygen build tag. To produce the files again:
//
//	git worktree add /tmp/v1 c47d77b   # 94b5736 plus the fake panels' Dump
//	cd /tmp/v1 && go test -tags legacygen -run TestGenerate -count=1 \
//		./provision/internal/legacygen -out /path/to/provision/testdata/v1
//
// (The fakes were provision/internal/fakepanel then; their dump format is
// the one provision/fakebackend reads with Restore.)
//
// The catalog, the racks and the service ids here are repeated in
// provision/migration_test.go; change both or neither.
package legacygen_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/internal/fakepanel"
	"github.com/ispkit/ispkit/provision/sqlstore"
)

var out = flag.String("out", "", "directory to write store.db and panels.json to")

const (
	tariffDedic   = 1
	tariffColo    = 3
	tariffHosting = 4
	tariffNone    = 7 // a configuration no rack has
	tariffTwoHost = 40
	osTemplate    = "ISPsystem__Debian-12-x86_64"
	servers       = 12
)

// panelDown answers every call of a hosting module with
// provision.ErrPanelUnavailable (the module is in maintenance).
type panelDown struct{ *fakepanel.Hosting }

func (p panelDown) UserExists(context.Context, string) (bool, error) {
	return false, fmt.Errorf("maintenance: %w", provision.ErrPanelUnavailable)
}

func catalog(t *testing.T) *billing.Catalog {
	cat := billing.NewCatalog()
	link := &billing.IPManagerLink{URL: "https://ipmgr.example/ipmgr", Username: "ip", Password: "pw", ParkingGroup: "parking"}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(cat.AddModule(&billing.Module{Kind: billing.KindDCImanager5, Name: "dc1", URL: "https://dci.example/dcimgr", Username: "admin", Password: "pw", SortOrder: 2, Department: "Hardware", IPManager: link}))
	must(cat.AddModule(&billing.Module{Kind: billing.KindISPmanager, Name: "isp", URL: "https://isp.example/ispmgr", Username: "admin", Password: "pw", SortOrder: 5, Department: "Hosting"}))
	must(cat.AddModule(&billing.Module{Kind: billing.KindISPmanager, Name: "isp2", URL: "https://isp2.example/ispmgr", Username: "admin", Password: "pw", SortOrder: 1}))
	limits, err := billing.LimitsFrom(map[string]string{"db": "10"})
	must(err)
	must(cat.AddTariff(&billing.Tariff{ID: tariffDedic, Name: "Dedic X", ProductType: billing.ProductDedicatedServer, Modules: []string{"dc1"}, ServerConfig: "X", OSTemplate: osTemplate, DomainTemplate: "s@ID@.example.net"}))
	must(cat.AddTariff(&billing.Tariff{ID: tariffColo, Name: "Colo", ProductType: billing.ProductColocation, Modules: []string{"dc1"}}))
	must(cat.AddTariff(&billing.Tariff{ID: tariffHosting, Name: "Hosting", ProductType: billing.ProductSharedHosting, Modules: []string{"isp"}, AccountTemplate: "basic", Limits: limits}))
	must(cat.AddTariff(&billing.Tariff{ID: tariffNone, Name: "Dedic Z", ProductType: billing.ProductDedicatedServer, Modules: []string{"dc1"}, ServerConfig: "Z", OSTemplate: osTemplate}))
	must(cat.AddTariff(&billing.Tariff{ID: tariffTwoHost, Name: "Hosting 2", ProductType: billing.ProductSharedHosting, Modules: []string{"isp2", "isp"}, AccountTemplate: "basic"}))
	return cat
}

func TestGenerate(t *testing.T) {
	if *out == "" {
		t.Skip("-out not set")
	}
	ctx := context.Background()
	dir := t.TempDir()
	store, err := sqlstore.Open(ctx, "sqlite", filepath.Join(dir, "store.db"), sqlstore.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	dc, pool, host, host2 := fakepanel.NewDC(), fakepanel.NewPool(), fakepanel.NewHosting(), fakepanel.NewHosting()
	dc.PowerDelay, dc.InstallDelay = time.Millisecond, time.Millisecond
	dc.AddServers(servers, "X", func(i int) string {
		ip := fmt.Sprintf("10.0.0.%d", i+1)
		pool.MarkUsed("parking", ip, "rack")
		return ip
	})
	for i := range 40 {
		pool.AddRange("public", fmt.Sprintf("203.0.113.%d", i+1))
		pool.AddRange("parking", fmt.Sprintf("10.1.0.%d", i+1))
		pool.AddRange("public", fmt.Sprintf("2001:db8:1::%x", i+1))
	}
	host.AddPreset("basic", map[string]string{"limit_db": "25", "limit_webdomains": "25"})
	host2.AddPreset("basic", map[string]string{"limit_db": "25"})

	e, err := provision.New(provision.Config{
		Store: store, Catalog: catalog(t), WorkerID: "v1",
		Dedicated: map[string]provision.DedicatedBackend{"dc1": dc},
		Hosting:   map[string]provision.HostingBackend{"isp": host, "isp2": panelDown{host2}},
		IPPools:   map[string]provision.IPPool{"dc1": pool},
		Workers:   4, LeaseDuration: time.Second, PollInterval: time.Millisecond,
		InstallTimeout: 10 * time.Second, PowerTimeout: 10 * time.Second, ReachTimeout: 10 * time.Second,
		Reachability: func(ctx context.Context, s provision.Server) error {
			if !s.PoweredOn || s.Installing || s.InstallFailed {
				return errors.New("no answer")
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// stopOn runs req and stops the engine at the nth event of its
	// service that matches: the operation stays unfinished.
	stopOn := func(req provision.Request, match func(provision.Event) bool, nth int64) {
		t.Helper()
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var seen atomic.Int64
		unsub := e.Subscribe(func(ev provision.Event) {
			if ev.ServiceID == req.ServiceID && match(ev) && seen.Add(1) == nth {
				cancel()
			}
		})
		defer unsub()
		_, err := e.Do(sctx, req)
		if !errors.Is(err, provision.ErrInterrupted) {
			t.Fatalf("service %s: want an interrupted operation, got %v", req.ServiceID, err)
		}
	}
	// stopAt stops when the step named step starts for the nth time.
	stopAt := func(req provision.Request, step string, nth int64) {
		t.Helper()
		stopOn(req, func(ev provision.Event) bool { return ev.Type == provision.EventStepStarted && ev.Step == step }, nth)
	}
	// inWait stops at the first install progress report (in the wait).
	inWait := func(ev provision.Event) bool { return ev.Type == provision.EventInstallProgress }
	// stopAfter runs req and stops it right after the nth panel call
	// named call (the panel acted; the engine did not record it).
	stopAfter := func(req provision.Request, call string, nth int64) {
		t.Helper()
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var seen atomic.Int64
		hook := func(method string) {
			if method == call && seen.Add(1) == nth {
				cancel()
			}
		}
		dc.AfterCall = func(method, _ string) { hook("dc." + method) }
		pool.AfterCall = func(method string) { hook("ipmgr." + method) }
		host.AfterCall = func(method string) { hook("isp." + method) }
		defer func() { dc.AfterCall, pool.AfterCall, host.AfterCall = nil, nil, nil }()
		_, err := e.Do(sctx, req)
		if !errors.Is(err, provision.ErrInterrupted) {
			t.Fatalf("service %s: want an interrupted operation after %s, got %v", req.ServiceID, call, err)
		}
	}
	open := func(id string, tariff int64) provision.Request {
		return provision.Request{Kind: provision.OpOpen, OperationID: "open-" + id, ServiceID: id, TariffID: tariff, AccountID: 7,
			Owner: "Cust-" + id, Password: "S3cret!" + id}
	}
	done := func(req provision.Request) {
		t.Helper()
		if _, err := e.Do(ctx, req); err != nil {
			t.Fatalf("service %s: %v", req.ServiceID, err)
		}
	}
	freeServer := func() string {
		for _, s := range dc.State() {
			if s.OwnerID == "" && s.Hostname == provision.FreeHostname {
				return s.ID
			}
		}
		t.Fatal("no free server left")
		return ""
	}

	// 101: an Open in its install wait; the install finishes.
	dc.InstallDelay = time.Second
	stopOn(open("101", tariffDedic), inWait, 1)
	dc.InstallDelay = time.Millisecond
	// 102: an Open in its install wait whose install never finishes: its
	// wait began long ago, so the resumed wait times out at once.
	dc.InstallDelay = 100 * 365 * 24 * time.Hour
	stopOn(open("102", tariffDedic), inWait, 1)
	dc.InstallDelay = time.Millisecond
	// 103: an Open whose first server failed its install, stopped in the
	// middle of that server's roll-back.
	dc.FailInstall(freeServer())
	stopAt(open("103", tariffDedic), "rb_notes", 1)
	// 104: an Open stopped after the public address was added to the
	// server but before that was recorded (parking swap).
	stopAfter(open("104", tariffDedic), "dc.AddIP", 1)
	// 105: an Open with additional addresses, stopped after the first.
	r105 := open("105", tariffDedic)
	r105.Options = map[string]string{"IP": "1", "IPv6": "1"}
	stopAfter(r105, "dc.AddIP", 2)
	// 106: a hosting Open stopped after the account was created, before
	// that was recorded.
	stopAfter(open("106", tariffHosting), "isp.CreateUser", 1)
	// 107: a hosting Open that gave up module isp2 (in maintenance) and is
	// about to choose a name on isp.
	stopAt(open("107", tariffTwoHost), "h_name", 2)
	// 108: a finished Open (Close it after the migration).
	done(open("108", tariffDedic))
	// 109: an Active service with a Suspend submitted and never run.
	done(open("109", tariffDedic))
	if _, err := e.Submit(ctx, provision.Request{Kind: provision.OpSuspend, OperationID: "suspend-109", ServiceID: "109"}); err != nil {
		t.Fatal(err)
	}
	// 110: an Open submitted and never run.
	if _, err := e.Submit(ctx, open("110", tariffDedic)); err != nil {
		t.Fatal(err)
	}
	// 111: a failed Open (no server of configuration Z).
	if _, err := e.Do(ctx, open("111", tariffNone)); !errors.Is(err, provision.ErrNoServer) {
		t.Fatalf("service 111: %v", err)
	}
	// 112: a colocation Open handed over as a manual task.
	done(provision.Request{Kind: provision.OpOpen, OperationID: "open-112", ServiceID: "112", TariffID: tariffColo, Owner: "colo"})
	// 113: a Reinstall in its install wait.
	done(open("113", tariffDedic))
	dc.InstallDelay = time.Second
	stopOn(provision.Request{Kind: provision.OpReinstall, OperationID: "reinstall-113", ServiceID: "113", Password: "R00t!pw", OSTemplate: "ISPsystem__CentOS-7-amd64"}, inWait, 1)
	dc.InstallDelay = time.Millisecond
	// 114: a Close stopped before the server is parked again.
	done(open("114", tariffDedic))
	stopAt(provision.Request{Kind: provision.OpClose, OperationID: "close-114", ServiceID: "114"}, "close_parking", 1)
	// 115: an AddIP stopped after IPmanager allocated the address.
	done(open("115", tariffDedic))
	stopAfter(provision.Request{Kind: provision.OpAddIP, OperationID: "addip-115", ServiceID: "115"}, "ipmgr.Allocate", 1)
	// 116: an Open whose first server failed and was rolled back, stopped
	// as it picks the next server (tried list and failure count recorded).
	dc.FailInstall(freeServer())
	stopAt(open("116", tariffDedic), "pick", 2)

	// The ops stopped above released their leases; the store is written.
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	panels, err := json.MarshalIndent(map[string]any{"dc": dc, "pool": pool, "isp": host, "isp2": host2}, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*out, "panels.json"), append(panels, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(filepath.Join(dir, "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*out, "store.db"), db, 0o644); err != nil {
		t.Fatal(err)
	}
}
