package provision_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/provision"
)

// notes records the messages of a billing.Notifier.
type notes struct {
	mu       sync.Mutex
	welcome  []*billing.WelcomeMessage
	failures []*billing.FailureMessage
	err      error // returned by every call
}

func (n *notes) Welcome(_ context.Context, m *billing.WelcomeMessage) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.welcome = append(n.welcome, m)
	return n.err
}

func (n *notes) Failure(_ context.Context, m *billing.FailureMessage) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.failures = append(n.failures, m)
	return n.err
}

func (n *notes) snapshot() ([]*billing.WelcomeMessage, []*billing.FailureMessage) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*billing.WelcomeMessage(nil), n.welcome...), append([]*billing.FailureMessage(nil), n.failures...)
}

// TestNotifierWelcome: an Open that becomes Active sends one welcome with
// the service's saved properties and the ordered password; a failing
// notifier changes nothing and its log never shows the password.
func TestNotifierWelcome(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 2)
	n := &notes{err: errors.New("smtp: connection refused")}
	var logs bytes.Buffer
	var logMu sync.Mutex
	e := v.engine("w1", func(c *provision.Config) {
		c.Notifier = n
		c.Logger = slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	ctx := context.Background()
	req := openReq("41", tariffDedic)
	_, err := e.Open(ctx, req)
	require.NoError(t, err, "a notifier's error is its own")
	svc := v.service("41")
	require.Equal(t, billing.StatusActive, svc.Status)

	w, f := n.snapshot()
	require.Len(t, w, 1)
	assert.Empty(t, f)
	m := w[0]
	assert.Equal(t, "41", m.ServiceID)
	assert.Equal(t, int64(7), m.AccountID)
	assert.Equal(t, req.Owner, m.Owner)
	assert.Equal(t, "Dedic X", m.TariffName)
	assert.Equal(t, billing.ProductDedicatedServer, m.ProductType)
	assert.Equal(t, "dc1", m.Module)
	assert.Equal(t, req.Password, m.Password)
	assert.Equal(t, svc.Properties[provision.PropIP], m.Properties[provision.PropIP])
	assert.Equal(t, svc.Properties[provision.PropServerID], m.Properties[provision.PropServerID])
	assert.NotEmpty(t, m.Properties[provision.PropIP])
	assert.False(t, m.ActivatedAt.IsZero())

	tmpl, err := billing.NewWelcomeTemplate(billing.DefaultWelcomeTemplate)
	require.NoError(t, err)
	text, err := tmpl.Render(m)
	require.NoError(t, err)
	assert.Contains(t, text, svc.Properties[provision.PropIP])

	logMu.Lock()
	out := logs.String()
	logMu.Unlock()
	assert.Contains(t, out, "welcome message not delivered")
	assert.NotContains(t, out, req.Password)

	// Suspend and resume: no second welcome.
	_, err = e.Suspend(ctx, provision.SuspendRequest{ServiceID: "41"})
	require.NoError(t, err)
	_, err = e.Unsuspend(ctx, provision.UnsuspendRequest{ServiceID: "41"})
	require.NoError(t, err)
	w, _ = n.snapshot()
	assert.Len(t, w, 1, "welcome only on the first activation")
}

// TestNotifierFailures: a server that fails its install and a failed Open
// (no server left) reach the module's error recipient; a manual task too.
func TestNotifierFailures(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 1)
	mod, err := v.cat.Module("dc1")
	require.NoError(t, err)
	mod.ErrorRecipient = "noc@example.net"
	require.NoError(t, v.cat.UpdateModule(mod))
	v.dc.FailInstall(v.dc.State()[0].ID)
	n := &notes{}
	e := v.engine("w1", func(c *provision.Config) { c.Notifier = n })
	ctx := context.Background()

	_, err = e.Open(ctx, openReq("51", tariffDedic))
	require.Error(t, err)
	w, f := n.snapshot()
	assert.Empty(t, w)
	require.Len(t, f, 2, "the failed server, then the failed operation: %v", f)
	assert.Equal(t, "noc@example.net", f[0].Recipient)
	assert.Equal(t, "dc1", f[0].Module)
	assert.Equal(t, "51", f[0].ServiceID)
	assert.Equal(t, "open", f[0].Operation)
	assert.Contains(t, f[0].Reason, "taken out of sale")
	assert.Contains(t, f[1].Reason, "operation failed")
	assert.Equal(t, "noc@example.net", f[1].Recipient)
	assert.NotEmpty(t, f[1].OperationID)
	for _, m := range f {
		assert.NotContains(t, m.Reason, "S3cret!pw")
	}

	// Colocation: every operation is a manual task for the department.
	_, err = e.Open(ctx, openReq("52", tariffColo))
	require.NoError(t, err)
	_, f = n.snapshot()
	require.Len(t, f, 3)
	assert.Equal(t, "noc@example.net", f[2].Recipient)
	assert.True(t, strings.HasPrefix(f[2].Reason, "manual task for Hardware"), f[2].Reason)
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
