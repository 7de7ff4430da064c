package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the durable store's SQLite driver

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/billing/billmgr"
	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/dci5"
	"github.com/ispkit/ispkit/provision/sqlstore"
)

// Env is what an invocation works with besides its command line.
type Env struct {
	// Params reads the module's and the item's parameters.
	Params Params
	// Billing sends the callbacks.
	Billing Billing
	// Log receives progress lines (nil discards).
	Log io.Writer

	// Hooks for the demo and tests; zero values are the production ones.
	// Reachability checks an installed server (default: TCP dial to port 22).
	Reachability provision.Reachability
	// PollInterval is the engine's and the panel client's poll interval.
	PollInterval time.Duration
}

func (env *Env) logf(format string, args ...any) {
	if env.Log != nil {
		fmt.Fprintf(env.Log, "  "+format+"\n", args...)
	}
}

// panelModule is the engine's name for the DCImanager 5 module.
const panelModule = "dci"

// module implements billmgr.Handler.
type module struct {
	billmgr.UnimplementedHandler
	env *Env
}

// features are the commands this module answers.
var features = []billmgr.Command{
	billmgr.CmdCheckConnection, billmgr.CmdOpen, billmgr.CmdSuspend, billmgr.CmdResume, billmgr.CmdClose,
	billmgr.CmdSyncItem, billmgr.CmdTransitionControlPanel,
}

// Features implements billmgr.Handler.
func (m *module) Features(context.Context) (*billmgr.Features, error) {
	return &billmgr.Features{
		ItemTypes: []billmgr.ItemType{{Name: "dedic"}},
		Params:    []billmgr.Param{{Name: "url"}, {Name: "username"}, {Name: "password", Crypted: true}},
		Features:  billmgr.FeatureList(features...),
	}, nil
}

// CheckConnection implements billmgr.Handler: it logs in to the panel with
// the parameters typed in the connection form.
func (m *module) CheckConnection(ctx context.Context, req *billmgr.Request) error {
	p, err := billmgr.ParseConnectionParams(req.Stdin)
	if err != nil {
		return &billmgr.Error{Type: "value", Object: "stdin", Desc: err.Error(), Err: err}
	}
	c, err := dcimanager5.NewClient(p["url"], dcimanager5.WithCredentials(p["username"], p["password"]))
	if err != nil {
		return &billmgr.Error{Type: "value", Object: "url", Value: p["url"], Desc: err.Error(), Err: err}
	}
	if err := c.CheckConnection(ctx); err != nil {
		return &billmgr.Error{Type: billmgr.ErrTypeInvalidLogin, Object: "password", Desc: err.Error(), Err: err}
	}
	return nil
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

// open builds the engine for one invocation. item, when not nil, adds its
// tariff to the catalog (Open needs it; the other operations only need the
// module recorded on the service).
func (m *module) open(ctx context.Context, a billmgr.Args, item *Item) (*session, error) {
	mp, err := m.env.Params.Module(ctx, a)
	if err != nil {
		return nil, err
	}
	st, err := sqlstore.Open(ctx, "sqlite", mp.DB, sqlstore.SQLite)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", mp.DB, err)
	}
	s := &session{store: st}
	opts := []dcimanager5.Option{dcimanager5.WithCredentials(mp.Username, mp.Password), dcimanager5.WithApplication(moduleName, "1")}
	if m.env.PollInterval > 0 {
		opts = append(opts, dcimanager5.WithPollInterval(m.env.PollInterval, 5*m.env.PollInterval))
	}
	client, err := dcimanager5.NewClient(mp.URL, opts...)
	if err != nil {
		s.Close()
		return nil, err
	}
	cat := billing.NewCatalog()
	if err := cat.AddModule(&billing.Module{Kind: billing.KindDCImanager5, Name: panelModule,
		URL: mp.URL, Username: mp.Username, Password: mp.Password}); err != nil {
		s.Close()
		return nil, err
	}
	if item != nil {
		if err := cat.AddTariff(&billing.Tariff{ID: item.Pricelist, Name: "pricelist " + strconv.FormatInt(item.Pricelist, 10),
			ProductType: billing.ProductDedicatedServer, Modules: []string{panelModule},
			ServerConfig: item.ServerConfig, OSTemplate: item.OSTemplate}); err != nil {
			s.Close()
			return nil, &billmgr.Error{Type: "value", Object: "pricelist", Value: strconv.FormatInt(item.Pricelist, 10), Desc: err.Error(), Err: err}
		}
	}
	s.e, err = provision.New(provision.Config{
		Store:        st,
		Catalog:      cat,
		Dedicated:    map[string]provision.DedicatedBackend{panelModule: dci5.New(client, mp.Username)},
		Workers:      1,
		PollInterval: m.env.PollInterval,
		Reachability: m.env.Reachability,
	})
	if err != nil {
		s.Close()
		return nil, err
	}
	s.e.Subscribe(func(ev provision.Event) {
		switch ev.Type {
		case provision.EventServerFailed:
			m.env.logf("engine: server %s failed: %s (trying the next one)", ev.ServerID, ev.Error)
		case provision.EventManualTask:
			m.env.logf("engine: manual task for the department: %s", ev.Task.Reason)
		case provision.EventOperationDone:
			m.env.logf("engine: %s of service %s done (operation %s)", ev.Kind, ev.ServiceID, ev.OperationID)
		case provision.EventOperationFailed:
			m.env.logf("engine: %s of service %s failed: %s", ev.Kind, ev.ServiceID, ev.Error)
		}
	})
	return s, nil
}

// service returns the engine's record of the item (nil when there is none).
func (s *session) service(ctx context.Context, item int64) (*provision.Service, error) {
	svc, err := s.store.GetService(ctx, strconv.FormatInt(item, 10))
	if errors.Is(err, provision.ErrNotFound) {
		return nil, nil
	}
	return svc, err
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

func (m *module) saveParams(ctx context.Context, item int64, svc *provision.Service) error {
	for _, p := range savedParams {
		if v := svc.Properties[p.prop]; v != "" {
			if err := m.env.Billing.SaveParam(ctx, item, p.param, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// fail turns an engine error into the error BILLmanager gets, storing the
// details on the running operation.
func (m *module) fail(ctx context.Context, a billmgr.Args, err error) error {
	var be *billmgr.Error
	var re *provision.ArgumentError
	switch {
	case errors.As(err, &be):
	case errors.As(err, &re):
		be = &billmgr.Error{Type: "value", Object: re.Arg, Desc: re.Reason, Err: err}
	case errors.Is(err, provision.ErrNoServer), errors.Is(err, provision.ErrTooManyFailures):
		be = &billmgr.Error{Type: "ispkit_no_server", Object: "item", Value: strconv.FormatInt(a.Item, 10), Desc: err.Error(), Err: err}
	case errors.Is(err, provision.ErrBusy), errors.Is(err, provision.ErrInterrupted):
		be = &billmgr.Error{Type: "ispkit_busy", Object: "item", Value: strconv.FormatInt(a.Item, 10), Desc: err.Error(), Err: err}
	case errors.Is(err, provision.ErrServiceState):
		be = &billmgr.Error{Type: "ispkit_status", Object: "item", Value: strconv.FormatInt(a.Item, 10), Desc: err.Error(), Err: err}
	default:
		be = &billmgr.Error{Type: "ispkit_provision", Object: "item", Value: strconv.FormatInt(a.Item, 10), Desc: err.Error(), Err: err}
	}
	if a.RunningOperation > 0 {
		if x, xerr := billmgr.MarshalOperationErrorXML(be); xerr == nil {
			if cerr := m.env.Billing.OperationError(ctx, a.RunningOperation, x); cerr != nil {
				return errors.Join(be, cerr)
			}
		}
	}
	m.env.logf("%s of item %d failed: %v", a.Command, a.Item, err)
	return be
}

// Open implements billmgr.Handler: provision.Engine.Open, then
// service.saveparam for what the service got and service.postopen.
func (m *module) Open(ctx context.Context, req *billmgr.Request) error {
	a := req.Args
	item, err := m.env.Params.Item(ctx, a)
	if err != nil {
		return m.fail(ctx, a, err)
	}
	s, err := m.open(ctx, a, item)
	if err != nil {
		return m.fail(ctx, a, err)
	}
	defer s.Close()
	svc, err := s.service(ctx, a.Item)
	if err != nil {
		return m.fail(ctx, a, err)
	}
	if svc != nil && svc.Status == billing.StatusActive {
		m.env.logf("service %d is already Active (an earlier run opened it): reporting again", a.Item)
	} else {
		id, err := s.opID(ctx, a)
		if err != nil {
			return m.fail(ctx, a, err)
		}
		m.env.logf("engine: open service %d (tariff %d, owner %s)", a.Item, item.Pricelist, item.Owner)
		if _, err := s.e.Open(ctx, provision.OpenRequest{OperationID: id, ServiceID: strconv.FormatInt(a.Item, 10),
			TariffID: item.Pricelist, AccountID: item.Account, Owner: item.Owner, Password: item.Password,
			Domain: item.Domain, Options: item.Options}); err != nil {
			return m.fail(ctx, a, err)
		}
		if svc, err = s.service(ctx, a.Item); err != nil {
			return m.fail(ctx, a, err)
		}
	}
	if svc.Status != billing.StatusActive {
		// A manual task (new-server-type modules): staff finish it and
		// the operation is closed from BILLmanager.
		m.env.logf("service %d is %s: %s", a.Item, svc.Status, svc.Properties[provision.PropManualTask])
		return nil
	}
	if err := m.saveParams(ctx, a.Item, svc); err != nil {
		return m.fail(ctx, a, err)
	}
	return m.post(ctx, a, "postopen")
}

func (m *module) post(ctx context.Context, a billmgr.Args, fn string) error {
	if err := m.env.Billing.Post(ctx, fn, a.Item); err != nil {
		return m.fail(ctx, a, err)
	}
	return nil
}

// simpleRequest is the engine request of a Suspend, Unsuspend or Close.
func simpleRequest(kind provision.OperationKind, opID, serviceID string) provision.Request {
	switch kind {
	case provision.OpSuspend:
		return provision.SuspendRequest{OperationID: opID, ServiceID: serviceID}
	case provision.OpUnsuspend:
		return provision.UnsuspendRequest{OperationID: opID, ServiceID: serviceID}
	}
	return provision.CloseRequest{OperationID: opID, ServiceID: serviceID}
}

// simple runs a Suspend, Unsuspend or Close of the item unless the service
// is already in the status it leads to, then calls service.<fn>.
func (m *module) simple(ctx context.Context, a billmgr.Args, kind provision.OperationKind, done billing.Status, fn string) error {
	s, err := m.open(ctx, a, nil)
	if err != nil {
		return m.fail(ctx, a, err)
	}
	defer s.Close()
	svc, err := s.service(ctx, a.Item)
	if err != nil {
		return m.fail(ctx, a, err)
	}
	switch {
	case svc == nil && kind == provision.OpClose:
		m.env.logf("service %d was never opened: nothing to close", a.Item)
	case svc == nil:
		return m.fail(ctx, a, fmt.Errorf("service %d: %w", a.Item, provision.ErrNotFound))
	case svc.Status == done:
		m.env.logf("service %d is already %s", a.Item, done)
	default:
		id, err := s.opID(ctx, a)
		if err != nil {
			return m.fail(ctx, a, err)
		}
		m.env.logf("engine: %s service %d", kind, a.Item)
		if _, err := s.e.Do(ctx, simpleRequest(kind, id, strconv.FormatInt(a.Item, 10))); err != nil {
			return m.fail(ctx, a, err)
		}
	}
	return m.post(ctx, a, fn)
}

// Suspend implements billmgr.Handler (switch ports off, service.postsuspend).
func (m *module) Suspend(ctx context.Context, req *billmgr.Request) error {
	return m.simple(ctx, req.Args, provision.OpSuspend, billing.StatusSuspended, "postsuspend")
}

// Resume implements billmgr.Handler (switch ports on, service.postresume).
func (m *module) Resume(ctx context.Context, req *billmgr.Request) error {
	return m.simple(ctx, req.Args, provision.OpUnsuspend, billing.StatusActive, "postresume")
}

// Close implements billmgr.Handler (release the server, service.postclose).
func (m *module) Close(ctx context.Context, req *billmgr.Request) error {
	return m.simple(ctx, req.Args, provision.OpClose, billing.StatusDeleted, "postclose")
}

// SyncItem implements billmgr.Handler: it reports the engine's record of
// the service (status and parameters) to BILLmanager.
func (m *module) SyncItem(ctx context.Context, req *billmgr.Request) error {
	a := req.Args
	s, err := m.open(ctx, a, nil)
	if err != nil {
		return m.fail(ctx, a, err)
	}
	defer s.Close()
	svc, err := s.service(ctx, a.Item)
	if err != nil {
		return m.fail(ctx, a, err)
	}
	if svc == nil {
		return m.fail(ctx, a, fmt.Errorf("service %d: %w", a.Item, provision.ErrNotFound))
	}
	if err := m.env.Billing.SetStatus(ctx, a.Item, svc.Status.Code()); err != nil {
		return m.fail(ctx, a, err)
	}
	if err := m.saveParams(ctx, a.Item, svc); err != nil {
		return m.fail(ctx, a, err)
	}
	return nil
}

// TransitionControlPanel implements billmgr.Handler: a one-time login link
// to DCImanager for the service's panel user.
func (m *module) TransitionControlPanel(ctx context.Context, req *billmgr.Request) (*billmgr.PanelLink, error) {
	a := req.Args
	s, err := m.open(ctx, a, nil)
	if err != nil {
		return nil, m.fail(ctx, a, err)
	}
	defer s.Close()
	u, err := s.e.LoginURL(ctx, strconv.FormatInt(a.Item, 10))
	if err != nil {
		return nil, m.fail(ctx, a, err)
	}
	return &billmgr.PanelLink{URL: u, KeyName: "dcimanager", Name: "DCImanager"}, nil
}
