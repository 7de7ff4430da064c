package provision_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit"
	"github.com/ispkit/ispkit/provision"
)

// Refused requests are the shared *ArgumentError, naming the operation and
// the field (never the value), and nothing is recorded.
func TestRequestArgumentErrors(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 1)
	e := v.engine("w1")
	ctx := context.Background()
	for _, tc := range []struct {
		req      provision.Request
		op, arg  string
		contains string
	}{
		{provision.OpenRequest{ServiceID: "1"}, "Open", "OpenRequest.TariffID", "required"},
		{provision.AddIPRequest{ServiceID: "1", IP: "2001:db8::1", Family: "ipv4"}, "AddIP", "AddIPRequest.IP", "does not match Family"},
		{provision.ChangePasswordRequest{ServiceID: "1"}, "ChangePassword", "ChangePasswordRequest.Password", "required"},
		{provision.ReinstallRequest{ServiceID: "1/2", Password: "x"}, "Reinstall", "ReinstallRequest.ServiceID", "without '/'"},
		{&provision.SuspendRequest{}, "Suspend", "SuspendRequest.ServiceID", "required"},
	} {
		_, err := e.Do(ctx, tc.req)
		var ae *provision.ArgumentError
		require.ErrorAs(t, err, &ae, "%T", tc.req)
		assert.Equal(t, "provision", ae.Package)
		assert.Equal(t, tc.op, ae.Op)
		assert.Equal(t, tc.arg, ae.Arg)
		assert.Contains(t, ae.Reason, tc.contains)
		assert.True(t, errors.Is(err, ispkit.ErrInvalidArgument) && errors.Is(err, provision.ErrInvalidRequest))
	}
	ops, err := v.store.ListOperations(ctx, provision.OperationFilter{})
	require.NoError(t, err)
	assert.Empty(t, ops)
}

// Passwords never show when a request is printed or logged, nor in the
// engine's own log, events or errors.
func TestRequestSecretsRedacted(t *testing.T) {
	t.Parallel()
	const secret = "Tr0ub4dor&3-secret"
	reqs := []any{
		provision.OpenRequest{ServiceID: "1", TariffID: 1, Owner: "ann", Password: secret},
		&provision.ChangePasswordRequest{ServiceID: "1", Password: secret},
		provision.ReinstallRequest{ServiceID: "1", Password: secret, OSTemplate: "t"},
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	for _, r := range reqs {
		for _, s := range []string{fmt.Sprint(r), fmt.Sprintf("%v %+v %#v %s", r, r, r, r)} {
			assert.NotContains(t, s, secret)
			assert.Contains(t, s, "[REDACTED]")
		}
		log.Info("request", "req", r)
	}
	assert.NotContains(t, buf.String(), secret)

	v := newEnv(t, 1)
	v.dc.FailInstall("1")
	buf.Reset()
	e := v.engine("w1", func(c *provision.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	r := openReq("1", tariffDedic)
	r.Password = secret
	_, err := e.Open(context.Background(), r)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), secret)
	assert.NotContains(t, buf.String(), secret)
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, ev := range v.events {
		assert.NotContains(t, fmt.Sprintf("%+v", ev), secret)
	}
}
