package provision_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/ispmanager"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/fakebackend"
	"github.com/ispkit/ispkit/provision/ispmgr"
)

// faultyHosting is a fake ISPmanager whose CreateUser fails.
type faultyHosting struct {
	*fakebackend.Hosting
	createErr error
	// created: the account is created before createErr is returned (the
	// answer was lost).
	created bool
	// existsErr fails UserExists.
	existsErr error
}

func (f *faultyHosting) UserExists(ctx context.Context, name string) (bool, error) {
	if f.existsErr != nil {
		return false, f.existsErr
	}
	return f.Hosting.UserExists(ctx, name)
}

func (f *faultyHosting) CreateUser(ctx context.Context, a provision.HostingAccount) error {
	if f.createErr == nil {
		return f.Hosting.CreateUser(ctx, a)
	}
	if f.created {
		if err := f.Hosting.CreateUser(ctx, a); err != nil {
			return err
		}
	}
	return f.createErr
}

const tariffTwoHosting = 40

func hostingState(t *testing.T, op *provision.Operation) *provision.HostingState {
	t.Helper()
	st, err := provision.DecodeData(op)
	require.NoError(t, err)
	h, ok := st.(*provision.HostingState)
	require.True(t, ok, "state %T", st)
	return h
}

// twoHosting adds module isp2 (sort 5, after isp) and a tariff using both.
func twoHosting(t *testing.T, v *env, first *faultyHosting) (*provision.Engine, *fakebackend.Hosting) {
	second := fakebackend.NewHosting()
	second.AddPreset("basic", map[string]string{"limit_db": "25"})
	require.NoError(t, v.cat.AddModule(&billing.Module{Kind: billing.KindISPmanager, Name: "isp2", URL: "https://isp2.example/ispmgr", Username: "admin", Password: "pw", SortOrder: 5}))
	require.NoError(t, v.cat.AddTariff(&billing.Tariff{ID: tariffTwoHosting, Name: "Hosting 2", ProductType: billing.ProductSharedHosting, Modules: []string{"isp2", "isp"}, AccountTemplate: "basic"}))
	e := v.engine("w1", func(c *provision.Config) {
		c.Hosting = map[string]provision.HostingBackend{"isp": first, "isp2": second}
	})
	return e, second
}

func TestHostingFallbackOnModuleFault(t *testing.T) {
	t.Parallel()
	for name, fault := range map[string]error{
		"license":     &ispmanager.Error{Panel: "ispmgr", Func: "user.add.finish", Type: "license", Message: "license limit"},
		"access":      &ispmanager.Error{Panel: "ispmgr", Func: "user.add.finish", Type: "access"},
		"unavailable": fmt.Errorf("maintenance: %w", provision.ErrPanelUnavailable),
		"transport":   &ispmanager.TransportError{Panel: "ispmgr", Op: "user.add.finish", Attempts: 3, MayHaveHappened: true, Err: errors.New("connection reset")},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			v := newEnv(t, 0)
			first := &faultyHosting{Hosting: v.host, createErr: fault}
			e, second := twoHosting(t, v, first)
			op, err := e.Open(context.Background(), openReq("41", tariffTwoHosting))
			require.NoError(t, err)
			svc := v.service("41")
			assert.Equal(t, billing.StatusActive, svc.Status)
			assert.Equal(t, "isp2", svc.Module, "the second module (sort 5) serves")
			h := hostingState(t, op)
			assert.Equal(t, []string{"isp"}, h.ModulesTried)
			require.Len(t, h.ModuleFaults, 1)
			assert.Contains(t, h.ModuleFaults[0], "isp: ")
			_, onFirst := v.host.User("johnsmith41")
			assert.False(t, onFirst)
			_, onSecond := second.User("johnsmith41")
			assert.True(t, onSecond)
			assert.Equal(t, "johnsmith41", svc.Properties[provision.PropLogin])
		})
	}
}

func TestHostingNoFallbackWhenCreated(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 0)
	first := &faultyHosting{Hosting: v.host, created: true,
		createErr: &ispmanager.TransportError{Panel: "ispmgr", Op: "user.add.finish", Attempts: 1, MayHaveHappened: true, Err: errors.New("EOF")}}
	e, second := twoHosting(t, v, first)
	_, err := e.Open(context.Background(), openReq("42", tariffTwoHosting))
	require.NoError(t, err)
	svc := v.service("42")
	assert.Equal(t, "isp", svc.Module, "the account was created on the first module: kept")
	_, onFirst := v.host.User("johnsmith42")
	assert.True(t, onFirst)
	_, onSecond := second.User("johnsmith42")
	assert.False(t, onSecond)
}

func TestHostingNoFallbackOnRequestError(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 0)
	first := &faultyHosting{Hosting: v.host, createErr: &ispmanager.Error{Panel: "ispmgr", Func: "user.add.finish", Type: "value", Object: "domain"}}
	e, second := twoHosting(t, v, first)
	_, err := e.Open(context.Background(), openReq("43", tariffTwoHosting))
	require.ErrorIs(t, err, provision.ErrOperationFailed)
	assert.Equal(t, billing.StatusOrdered, v.service("43").Status)
	_, onSecond := second.User("johnsmith43")
	assert.False(t, onSecond, "a bad request is not the module's fault")
}

func TestHostingCollisionKeepsModule(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 0)
	v.host.AddUser("johnsmith44")            // seen by UserExists
	v.host.Shadow = []string{"johnsmith441"} // refused by CreateUser only
	first := &faultyHosting{Hosting: v.host}
	e, second := twoHosting(t, v, first)
	op, err := e.Open(context.Background(), openReq("44", tariffTwoHosting))
	require.NoError(t, err)
	svc := v.service("44")
	assert.Equal(t, "isp", svc.Module, "a name collision is handled by the suffix on the same module")
	assert.Equal(t, "johnsmith442", svc.Properties[provision.PropLogin])
	assert.Empty(t, hostingState(t, op).ModulesTried)
	_, onSecond := second.User("johnsmith442")
	assert.False(t, onSecond)
}

// A create that may have happened while the panel cannot say whether the
// account exists: the run stops (no switch to the next module) and the
// resumed operation finds the account on the same module.
func TestHostingCreateInDoubtResumesOnSameModule(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 0)
	down := &ispmanager.TransportError{Panel: "ispmgr", Op: "user", Attempts: 3, Err: errors.New("connection refused")}
	first := &faultyHosting{Hosting: v.host, created: true,
		createErr: &ispmanager.TransportError{Panel: "ispmgr", Op: "user.add.finish", Attempts: 1, MayHaveHappened: true, Err: errors.New("EOF")}}
	e, second := twoHosting(t, v, first)
	ctx := context.Background()
	// The name is chosen while the panel answers; it goes down on create.
	op, err := e.Submit(ctx, openReq("45", tariffTwoHosting))
	require.NoError(t, err)
	e2 := v.engine("w2", func(c *provision.Config) {
		c.Hosting = map[string]provision.HostingBackend{"isp": &downAfterCreate{faultyHosting: first, down: down}, "isp2": second}
	})
	require.ErrorIs(t, e2.Resume(ctx), provision.ErrInterrupted)
	got, err := v.store.GetOperation(ctx, op.ID)
	require.NoError(t, err)
	require.False(t, got.State.Finished())
	h := hostingState(t, got)
	assert.Equal(t, "isp", h.Module, "the module in use is recorded")
	assert.Empty(t, h.ModulesTried)
	assert.Equal(t, billing.StatusProcessing, v.service("45").Status)

	// The panel is back: the resumed operation finds the account.
	v.clock.Advance(time.Minute)
	first.createErr = errors.New("must not create again")
	require.NoError(t, e.Resume(ctx))
	svc := v.service("45")
	assert.Equal(t, billing.StatusActive, svc.Status)
	assert.Equal(t, "isp", svc.Module)
	_, onSecond := second.User("johnsmith45")
	assert.False(t, onSecond)
}

// downAfterCreate answers UserExists until CreateUser was called, then
// fails it.
// The wrapped fake answers with ISPmanager client errors, so it reads them
// the way the ISPmanager adapter does (provision.FaultClassifier).
func (f *faultyHosting) IsPanelFault(err error) bool { return (&ispmgr.Backend{}).IsPanelFault(err) }

func (f *faultyHosting) MayHaveHappened(err error) bool {
	return (&ispmgr.Backend{}).MayHaveHappened(err)
}

type downAfterCreate struct {
	*faultyHosting
	down    error
	created atomic.Bool
}

func (d *downAfterCreate) CreateUser(ctx context.Context, a provision.HostingAccount) error {
	d.created.Store(true)
	return d.faultyHosting.CreateUser(ctx, a)
}

func (d *downAfterCreate) UserExists(ctx context.Context, name string) (bool, error) {
	if d.created.Load() {
		return false, d.down
	}
	return d.faultyHosting.UserExists(ctx, name)
}
