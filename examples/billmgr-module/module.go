package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/billing/billmgr"
	"github.com/ispkit/ispkit/dcimanager5"
)

// Env is what an invocation works with besides its command line.
type Env struct {
	// Params reads the module's and the item's parameters.
	Params Params
	// Billing sends the callbacks.
	Billing Billing
	// Log receives progress lines (nil discards). Never stdout: that is
	// BILLmanager's channel.
	Log io.Writer
	// DB is the SQLite file of the engine's store.
	DB string
	// Reachability checks that an installed server answers; nil is the
	// engine's default (a TCP dial to port 22 of its IP). The demo asks
	// the DCImanager fake instead.
	Reachability func(ctx context.Context, serverID string) error
}

func (env *Env) logf(format string, args ...any) {
	if env.Log != nil {
		fmt.Fprintf(env.Log, "  "+format+"\n", args...)
	}
}

// Billing is the way back to BILLmanager: the mgrctl callbacks.
// *billmgr.Mgrctl implements it for a real BILLmanager; the demo prints the
// command lines instead ([PrintBilling]).
type Billing interface {
	// SaveParam saves an item parameter (service.saveparam).
	SaveParam(ctx context.Context, item int64, name, value string) error
	// SetStatus sets the item status (service.setstatus).
	SetStatus(ctx context.Context, item int64, code int) error
	// Post reports a finished command and closes its running operation
	// (service.postopen, postsuspend, postresume, postclose).
	Post(ctx context.Context, cb billmgr.Callback, item int64) error
	// OperationError stores the error on a running operation
	// (runningoperation.edit errorxml=…).
	OperationError(ctx context.Context, op int64, err error) error
}

var _ Billing = (*billmgr.Mgrctl)(nil)

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
		Params: []billmgr.Param{{Name: "url"}, {Name: "username"}, {Name: "password", Crypted: true},
			{Name: paramPollInterval}},
		Features: billmgr.FeatureList(features...),
	}, nil
}

// Usage implements billmgr.Usager: what -h prints.
func (m *module) Usage() string { return usage }

// CheckConnection implements billmgr.Handler: it logs in to the panel with
// the parameters typed in the connection form.
func (m *module) CheckConnection(ctx context.Context, req *billmgr.Request) error {
	p, err := billmgr.ParseConnectionParams(req.Stdin)
	if err != nil {
		return &billmgr.Error{Type: "value", Object: "stdin", Desc: err.Error(), Err: err}
	}
	c, err := dcimanager5.NewClient(p["url"], dcimanager5.WithCredentials(p["username"], p["password"]))
	if err != nil {
		return &billmgr.Error{Type: "value", Object: "url", Desc: err.Error(), Err: err}
	}
	if err := c.CheckConnection(ctx); err != nil {
		return &billmgr.Error{Type: billmgr.ErrTypeInvalidLogin, Object: "password", Desc: err.Error(), Err: err}
	}
	return nil
}

// session opens the engine for the item's processing module; item (for
// open) adds its tariff.
func (m *module) session(ctx context.Context, a billmgr.Args, item *Item) (*session, error) {
	mp, err := m.env.Params.Module(ctx, a)
	if err != nil {
		return nil, err
	}
	return newSession(ctx, m.env, mp, item)
}

// fail turns an error into the error document BILLmanager gets, storing
// the details on the running operation first.
func (m *module) fail(ctx context.Context, a billmgr.Args, err error) error {
	be := classify(a, err)
	m.env.logf("%s of item %d failed: %v", a.Command, a.Item, err)
	if a.RunningOperation > 0 {
		if cerr := m.env.Billing.OperationError(ctx, a.RunningOperation, be); cerr != nil {
			m.env.logf("storing the error on running operation %d failed: %v", a.RunningOperation, cerr)
			return errors.Join(be, cerr)
		}
	}
	return be
}

func (m *module) saveParams(ctx context.Context, item int64, svc *serviceView) error {
	for _, p := range savedParams {
		if v := svc.Props[p.param]; v != "" {
			if err := m.env.Billing.SaveParam(ctx, item, p.param, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// Open implements billmgr.Handler: the engine's Open, then
// service.saveparam for what the service got and service.postopen.
func (m *module) Open(ctx context.Context, req *billmgr.Request) error {
	a := req.Args
	item, err := m.env.Params.Item(ctx, a)
	if err != nil {
		return m.fail(ctx, a, err)
	}
	s, err := m.session(ctx, a, item)
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
		m.env.logf("engine: open service %d (tariff %d, owner %s)", a.Item, item.Pricelist, item.Owner)
		if err := s.open(ctx, a, item); err != nil {
			return m.fail(ctx, a, err)
		}
		if svc, err = s.service(ctx, a.Item); err != nil {
			return m.fail(ctx, a, err)
		}
	}
	if svc == nil || svc.Status != billing.StatusActive {
		// A manual task (new-server-type modules): staff finish it and
		// close the operation from BILLmanager.
		if svc != nil {
			m.env.logf("service %d is %s: %s", a.Item, svc.Status, svc.ManualTask)
		}
		return nil
	}
	if err := m.saveParams(ctx, a.Item, svc); err != nil {
		return m.fail(ctx, a, err)
	}
	return m.post(ctx, a, billmgr.PostOpen)
}

func (m *module) post(ctx context.Context, a billmgr.Args, cb billmgr.Callback) error {
	if err := m.env.Billing.Post(ctx, cb, a.Item); err != nil {
		return m.fail(ctx, a, err)
	}
	return nil
}

// simple runs a suspend, resume or close of the item unless the service is
// already in the status it leads to, then reports with cb.
func (m *module) simple(ctx context.Context, a billmgr.Args, k opKind, done billing.Status, cb billmgr.Callback) error {
	s, err := m.session(ctx, a, nil)
	if err != nil {
		return m.fail(ctx, a, err)
	}
	defer s.Close()
	svc, err := s.service(ctx, a.Item)
	if err != nil {
		return m.fail(ctx, a, err)
	}
	switch {
	case svc == nil && k == opClose:
		m.env.logf("service %d was never opened: nothing to close", a.Item)
	case svc == nil:
		return m.fail(ctx, a, errNotFound(a.Item))
	case svc.Status == done:
		m.env.logf("service %d is already %s", a.Item, done)
	default:
		m.env.logf("engine: %s service %d", a.Command, a.Item)
		if err := s.do(ctx, a, k); err != nil {
			return m.fail(ctx, a, err)
		}
	}
	return m.post(ctx, a, cb)
}

// Suspend implements billmgr.Handler (switch ports off, service.postsuspend).
func (m *module) Suspend(ctx context.Context, req *billmgr.Request) error {
	return m.simple(ctx, req.Args, opSuspend, billing.StatusSuspended, billmgr.PostSuspend)
}

// Resume implements billmgr.Handler (switch ports on, service.postresume).
func (m *module) Resume(ctx context.Context, req *billmgr.Request) error {
	return m.simple(ctx, req.Args, opResume, billing.StatusActive, billmgr.PostResume)
}

// Close implements billmgr.Handler (release the server, service.postclose).
func (m *module) Close(ctx context.Context, req *billmgr.Request) error {
	return m.simple(ctx, req.Args, opClose, billing.StatusDeleted, billmgr.PostClose)
}

// SyncItem implements billmgr.Handler: it reports the engine's record of
// the service (status and parameters) to BILLmanager.
func (m *module) SyncItem(ctx context.Context, req *billmgr.Request) error {
	a := req.Args
	s, err := m.session(ctx, a, nil)
	if err != nil {
		return m.fail(ctx, a, err)
	}
	defer s.Close()
	svc, err := s.service(ctx, a.Item)
	if err != nil {
		return m.fail(ctx, a, err)
	}
	if svc == nil {
		return m.fail(ctx, a, errNotFound(a.Item))
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
	s, err := m.session(ctx, a, nil)
	if err != nil {
		return nil, m.fail(ctx, a, err)
	}
	defer s.Close()
	u, err := s.loginURL(ctx, a.Item)
	if err != nil {
		return nil, m.fail(ctx, a, err)
	}
	return &billmgr.PanelLink{URL: u, KeyName: "dcimanager", Name: "DCImanager"}, nil
}
