package main

// This file holds every call the module makes into the provisioning engine
// (package provision and its DCImanager 5 adapter and SQLite store). The
// protocol side (module.go) sees only the small types below, so a change of
// the engine's API is a change of this file.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	_ "modernc.org/sqlite" // the durable store's SQLite driver

	"github.com/ispkit/ispkit"
	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/billing/billmgr"
	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/dci5"
	"github.com/ispkit/ispkit/provision/sqlstore"
)

// panelModule is the engine's name for the DCImanager 5 module.
const panelModule = "dci"

// serviceView is what the protocol side needs to know of a service.
type serviceView struct {
	Status billing.Status
	// Props are the service properties reported as item parameters, by
	// item parameter name.
	Props map[string]string
	// ManualTask is the reason of a pending manual task ("" when none).
	ManualTask string
}

// Operations the protocol side asks for.
type opKind int

const (
	opSuspend opKind = iota
	opResume
	opClose
)

// request is the engine request of the operation k on a service.
func (k opKind) request(opID, serviceID string) provision.Request {
	switch k {
	case opSuspend:
		return provision.SuspendRequest{OperationID: opID, ServiceID: serviceID}
	case opResume:
		return provision.UnsuspendRequest{OperationID: opID, ServiceID: serviceID}
	}
	return provision.CloseRequest{OperationID: opID, ServiceID: serviceID}
}

// savedParams are the service properties reported as item parameters.
var savedParams = []struct{ prop, param string }{
	{provision.PropServerID, "server_id"},
	{provision.PropServerName, "server_name"},
	{provision.PropIP, "ip"},
	{provision.PropIPs, "ips"},
	{provision.PropDomain, "domain"},
	{provision.PropOS, "ostempl"},
	{provision.PropLogin, "username"},
}

// session is one invocation's engine over the durable store.
type session struct {
	e       *provision.Engine
	store   *sqlstore.Store
	workers sync.WaitGroup
	stop    context.CancelFunc
}

// Close stops the background worker (if any) and closes the store.
func (s *session) Close() {
	if s.stop != nil {
		s.stop()
	}
	s.workers.Wait()
	_ = s.store.Close()
}

// newSession builds the engine for one invocation. item, when not nil, adds
// its tariff to the catalog (Open needs it; the other operations only need
// the module recorded on the service).
func newSession(ctx context.Context, env *Env, mp ModuleParams, item *Item) (*session, error) {
	st, err := sqlstore.Open(ctx, "sqlite", env.DB, sqlstore.SQLite)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", env.DB, err)
	}
	s := &session{store: st}
	poll := mp.PollInterval
	opts := []dcimanager5.Option{dcimanager5.WithCredentials(mp.Username, mp.Password), dcimanager5.WithApplication(moduleName, "1")}
	if poll > 0 {
		opts = append(opts, dcimanager5.WithPollInterval(poll, 5*poll))
	}
	client, err := dcimanager5.NewClient(mp.URL, opts...)
	if err != nil {
		s.Close()
		return nil, &billmgr.Error{Type: "ispkit_config", Object: "url", Desc: err.Error(), Err: err}
	}
	cat := billing.NewCatalog()
	if err := cat.AddModule(&billing.Module{Kind: billing.KindDCImanager5, Name: panelModule,
		URL: mp.URL, Username: mp.Username, Password: mp.Password}); err != nil {
		s.Close()
		return nil, &billmgr.Error{Type: "ispkit_config", Object: "url", Desc: err.Error(), Err: err}
	}
	if item != nil {
		t := &billing.Tariff{ID: item.Pricelist, Name: "pricelist " + strconv.FormatInt(item.Pricelist, 10),
			ProductType: billing.ProductDedicatedServer, Modules: []string{panelModule},
			ServerConfig: item.ServerConfig, OSTemplate: item.OSTemplate, OSTemplates: item.OSTemplates,
			Recipe: item.Recipe, DontWaitInstall: item.DontWaitInstall}
		if err := cat.AddTariff(t); err != nil {
			s.Close()
			return nil, &billmgr.Error{Type: "value", Object: "pricelist", Value: strconv.FormatInt(item.Pricelist, 10), Desc: err.Error(), Err: err}
		}
	}
	var reach provision.Reachability
	if env.Reachability != nil {
		reach = func(ctx context.Context, s provision.Server) error { return env.Reachability(ctx, s.ID) }
	}
	s.e, err = provision.New(provision.Config{
		Store:        st,
		Catalog:      cat,
		Dedicated:    map[string]provision.DedicatedBackend{panelModule: dci5.New(client, mp.Username)},
		Workers:      1,
		PollInterval: poll,
		Reachability: reach,
	})
	if err != nil {
		s.Close()
		return nil, err
	}
	s.e.Subscribe(func(ev provision.Event) {
		switch ev.Type {
		case provision.EventServerFailed:
			env.logf("engine: server %s failed: %s (trying the next one)", ev.ServerID, ev.Error)
		case provision.EventManualTask:
			env.logf("engine: manual task for the department: %s", ev.Task.Reason)
		case provision.EventOperationDone:
			env.logf("engine: %s of service %s done (operation %s)", ev.Kind, ev.ServiceID, ev.OperationID)
		case provision.EventOperationFailed:
			env.logf("engine: %s of service %s failed: %s", ev.Kind, ev.ServiceID, ev.Error)
		}
	})
	return s, nil
}

// service returns the engine's record of the item (nil when there is none).
func (s *session) service(ctx context.Context, item int64) (*serviceView, error) {
	svc, err := s.store.GetService(ctx, strconv.FormatInt(item, 10))
	if errors.Is(err, provision.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	v := &serviceView{Status: svc.Status, Props: map[string]string{}, ManualTask: svc.Properties[provision.PropManualTask]}
	for _, p := range savedParams {
		if val := svc.Properties[p.prop]; val != "" {
			v.Props[p.param] = val
		}
	}
	return v, nil
}

// opID is the engine operation id of a BILLmanager running operation, so a
// re-run continues (or reports) the same engine operation. An operation
// that failed is not repeated under the same id: the re-run is a new try.
// Without --runningoperation the engine picks a random id.
func (s *session) opID(ctx context.Context, a billmgr.Args) (string, error) {
	if a.RunningOperation == 0 {
		return "", nil
	}
	base := fmt.Sprintf("billmgr-ro%d-%s-%d", a.RunningOperation, a.Command, a.Item)
	for n := 1; ; n++ {
		id := base
		if n > 1 {
			id = fmt.Sprintf("%s-try%d", base, n)
		}
		op, err := s.store.GetOperation(ctx, id)
		if errors.Is(err, provision.ErrNotFound) {
			return id, nil
		}
		if err != nil {
			return "", err
		}
		if op.State != provision.StateFailed {
			if !op.State.Finished() {
				// Left unfinished by an earlier process of this running
				// operation: a worker here finishes it once its lease
				// is free (at once after a clean stop, after
				// LeaseDuration after a crash) while Do waits for it.
				if s.stop == nil {
					rctx, cancel := context.WithCancel(ctx)
					s.stop = cancel
					s.workers.Go(func() { _ = s.e.Run(rctx) })
				}
			}
			return id, nil
		}
	}
}

// open runs the engine's Open for the item, synchronously.
func (s *session) open(ctx context.Context, a billmgr.Args, item *Item) error {
	id, err := s.opID(ctx, a)
	if err != nil {
		return err
	}
	_, err = s.e.Open(ctx, provision.OpenRequest{OperationID: id, ServiceID: strconv.FormatInt(a.Item, 10),
		TariffID: item.Pricelist, AccountID: item.Account, Owner: item.Owner, Password: item.Password,
		Domain: item.Domain, Options: item.Options})
	return err
}

// do runs a suspend, resume or close of the item, synchronously.
func (s *session) do(ctx context.Context, a billmgr.Args, k opKind) error {
	id, err := s.opID(ctx, a)
	if err != nil {
		return err
	}
	_, err = s.e.Do(ctx, k.request(id, strconv.FormatInt(a.Item, 10)))
	return err
}

// loginURL is a one-time panel login link for the item's panel user.
func (s *session) loginURL(ctx context.Context, item int64) (string, error) {
	return s.e.LoginURL(ctx, strconv.FormatInt(item, 10))
}

// errNotFound is the error for an item the engine has no record of.
func errNotFound(item int64) error { return fmt.Errorf("service %d: %w", item, provision.ErrNotFound) }

// classify turns an engine error into the error BILLmanager shows (its
// type selects msg_error_<type> of the module XML).
func classify(a billmgr.Args, err error) *billmgr.Error {
	var be *billmgr.Error
	var ae *ispkit.ArgumentError
	item := strconv.FormatInt(a.Item, 10)
	switch {
	case errors.As(err, &be):
		return be
	case errors.Is(err, billing.ErrOSTemplateNotSold):
		return &billmgr.Error{Type: "ispkit_ostemplate", Object: "ostempl", Desc: err.Error(), Err: err}
	case errors.As(err, &ae):
		return &billmgr.Error{Type: "value", Object: ae.Arg, Desc: ae.Reason, Err: err}
	case errors.Is(err, provision.ErrNoServer), errors.Is(err, provision.ErrTooManyFailures):
		return &billmgr.Error{Type: "ispkit_no_server", Object: "item", Value: item, Desc: err.Error(), Err: err}
	case errors.Is(err, provision.ErrBusy), errors.Is(err, provision.ErrInterrupted):
		return &billmgr.Error{Type: "ispkit_busy", Object: "item", Value: item, Desc: err.Error(), Err: err}
	case errors.Is(err, provision.ErrServiceState):
		return &billmgr.Error{Type: "ispkit_status", Object: "item", Value: item, Desc: err.Error(), Err: err}
	}
	return &billmgr.Error{Type: "ispkit_provision", Object: "item", Value: item, Desc: err.Error(), Err: err}
}

// serviceStatus reads the engine's status of a service from the store the
// invocations share ("" when it does not exist).
func serviceStatus(ctx context.Context, dbPath, id string) (billing.Status, error) {
	st, err := sqlstore.Open(ctx, "sqlite", dbPath, sqlstore.SQLite)
	if err != nil {
		return "", err
	}
	defer st.Close()
	svc, err := st.GetService(ctx, id)
	if errors.Is(err, provision.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return svc.Status, nil
}
