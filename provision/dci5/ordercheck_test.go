package dci5_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit"
	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/provision"
)

// panelReads are the DCImanager 5 and IPmanager functions that only read.
var panelReads = map[string]bool{
	"auth": true, "server": true, "osmgr": true, "user": true, "iplist": true, "server.connection": true,
	"ip": true, "iptype": true,
}

// assertOnlyReads fails for every call of the log that is not a read.
func assertOnlyReads(t *testing.T, what string, funcs []string) {
	t.Helper()
	require.NotEmpty(t, funcs, "%s: the check reads the panel", what)
	for _, f := range funcs {
		assert.True(t, panelReads[f], "%s: %s is not a read", what, f)
	}
}

// TestMistypedOSTemplateTouchesNoServer: an order whose os option names a
// template the panel does not have fails before any server is touched:
// an *ArgumentError naming the field, the service back to Ordered with
// the reason, and only reads at the panel.
func TestMistypedOSTemplateTouchesNoServer(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 2)
	e := w.engine("e", 1)
	_, err := e.Open(context.Background(), provision.OpenRequest{ServiceID: "7", TariffID: 1, Owner: "cust", Password: "Secret-pw-1",
		Options: map[string]string{billing.OptionOS: "ISPsystem__Debain-12-x86_64"}})
	require.ErrorIs(t, err, ispkit.ErrInvalidArgument)
	var ae *ispkit.ArgumentError
	require.True(t, errors.As(err, &ae), "typed: %v", err)
	assert.Equal(t, "OpenRequest.Options[os]", ae.Arg)

	svc, err := w.store.GetService(context.Background(), "7")
	require.NoError(t, err)
	assert.Equal(t, billing.StatusOrdered, svc.Status, "Pending")
	assert.Contains(t, svc.Error, "no such OS template")

	var funcs []string
	for _, c := range w.srv.Calls() {
		funcs = append(funcs, c.Func)
	}
	assertOnlyReads(t, "DCImanager", funcs)
	for _, st := range w.srv.Servers() {
		assert.Zero(t, st.Owner)
		assert.False(t, st.Disabled)
	}
	assert.Equal(t, 0, w.check())
}

// TestTooManyAddressesTouchesNoServer: an order for more additional
// addresses than the IPmanager group has free fails up front, naming the
// option, with reads only at both panels.
func TestTooManyAddressesTouchesNoServer(t *testing.T) {
	t.Parallel()
	w := newIPWorld(t, 2)
	e := w.engine("e", nil)
	_, err := e.Open(context.Background(), provision.OpenRequest{ServiceID: "8", TariffID: 1, Owner: "cust", Password: "Secret-pw-1",
		Options: map[string]string{billing.OptionIPv4: "400"}})
	var ae *ispkit.ArgumentError
	require.True(t, errors.As(err, &ae), "typed: %v", err)
	assert.Equal(t, "OpenRequest.Options[IP]", ae.Arg)
	svc, err := w.store.GetService(context.Background(), "8")
	require.NoError(t, err)
	assert.Equal(t, billing.StatusOrdered, svc.Status)
	assert.Contains(t, svc.Error, "free addresses")

	var funcs []string
	for _, c := range w.srv.Calls() {
		funcs = append(funcs, c.Func)
	}
	assertOnlyReads(t, "DCImanager", funcs)
	funcs = nil
	for _, c := range w.ipm.Calls() {
		funcs = append(funcs, c.Func)
	}
	assertOnlyReads(t, "IPmanager", funcs)
	w.checkIPs()
}

// TestBadDomainRefusedAtSubmit: a domain that is not a host name is
// refused before anything is recorded.
func TestBadDomainRefusedAtSubmit(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1)
	e := w.engine("e", 1)
	_, err := e.Submit(context.Background(), provision.OpenRequest{ServiceID: "9", TariffID: 1, Owner: "cust", Password: "Secret-pw-1",
		Domain: "my server!.example"})
	var ae *ispkit.ArgumentError
	require.True(t, errors.As(err, &ae), "typed: %v", err)
	assert.Equal(t, "OpenRequest.Domain", ae.Arg)
	_, err = w.store.GetService(context.Background(), "9")
	require.ErrorIs(t, err, provision.ErrNotFound, "nothing recorded")
	assert.Empty(t, w.srv.Calls())
}
