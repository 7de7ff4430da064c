package dcimanager6_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/dcimanager6"
	"github.com/ispkit/ispkit/dcimanager6/dcimanager6test"
)

func TestIPAssignUnassign(t *testing.T) {
	t.Parallel()
	f, c := newEnv(t, nil)
	ctx := testCtx(t)

	ip, err := c.IPs.Assign(ctx, dcimanager6.IPAssignRequest{ServerID: 1, PoolID: 1, Domain: "a.example.net", Note: "op-1"})
	require.NoError(t, err)
	assert.Equal(t, int64(1), ip.ServerID)
	assert.Equal(t, "allocated", ip.Status)
	assert.Equal(t, "a.example.net", ip.Domain)
	assert.Equal(t, "op-1", ip.Note)
	assert.Equal(t, int64(1), ip.Pool)
	assert.True(t, strings.HasPrefix(ip.Name, "192.0.2."))

	srv, err := c.Servers.Get(ctx, 1)
	require.NoError(t, err)
	require.Len(t, srv.IPs, 1)
	assert.Equal(t, ip.Name, srv.IPs[0].Name)

	found, err := c.IPs.FindAssignment(ctx, dcimanager6.IPAssignRequest{ServerID: 1, PoolID: 1, Note: "op-1"})
	require.NoError(t, err)
	assert.Equal(t, ip.ID, found.ID)
	found, err = c.IPs.FindAssignment(ctx, dcimanager6.IPAssignRequest{ServerID: 1, Address: ip.Name})
	require.NoError(t, err)
	assert.Equal(t, ip.ID, found.ID)
	_, err = c.IPs.FindAssignment(ctx, dcimanager6.IPAssignRequest{ServerID: 2, Note: "op-1"})
	assert.True(t, dcimanager6.IsNotFound(err), "%v", err)
	_, err = c.IPs.FindAssignment(ctx, dcimanager6.IPAssignRequest{ServerID: 1, PoolID: 1})
	require.ErrorIs(t, err, dcimanager6.ErrInvalidArgument)

	// A specific address: free → bound; taken → conflict.
	spec, err := c.IPs.Assign(ctx, dcimanager6.IPAssignRequest{ServerID: 2, Address: "192.0.2.19"})
	require.NoError(t, err)
	assert.Equal(t, int64(2), spec.ServerID)
	_, err = c.IPs.Assign(ctx, dcimanager6.IPAssignRequest{ServerID: 1, Address: "192.0.2.19"})
	assert.True(t, dcimanager6.IsConflict(err), "%v", err)
	_, err = c.IPs.Assign(ctx, dcimanager6.IPAssignRequest{ServerID: 1, PoolID: 2})
	require.ErrorIs(t, err, dcimanager6.ErrInvalidInput, "pool of another location")
	_, err = c.IPs.Assign(ctx, dcimanager6.IPAssignRequest{ServerID: 1, Address: "198.51.100.10"})
	require.ErrorIs(t, err, dcimanager6.ErrInvalidInput, "address of another location")
	_, err = c.IPs.Assign(ctx, dcimanager6.IPAssignRequest{ServerID: 1, Address: "203.0.113.1"})
	assert.True(t, dcimanager6.IsNotFound(err), "%v", err)

	require.NoError(t, c.IPs.Unassign(ctx, ip.ID))
	err = c.IPs.Unassign(ctx, ip.ID)
	assert.True(t, dcimanager6.IsNotFound(err), "a repeat answers not found: %v", err)
	for _, x := range f.IPs() {
		if x.ID == ip.ID {
			assert.Equal(t, "free", x.Status)
			assert.Zero(t, x.ServerID)
			assert.Empty(t, x.Note)
		}
	}
	_, err = c.IPs.FindAssignment(ctx, dcimanager6.IPAssignRequest{ServerID: 1, Note: "op-1"})
	assert.True(t, dcimanager6.IsNotFound(err), "%v", err)

	var sent int
	for _, r := range f.Requests() {
		if r.Method == "POST" && r.Path == "/api/ip/v3/ip" {
			sent++
		}
	}
	assert.Equal(t, 6, sent, "every Assign that passed validation was sent once")
}

func TestIPAssignValidation(t *testing.T) {
	t.Parallel()
	f, c := newEnv(t, nil)
	ctx := testCtx(t)
	for name, req := range map[string]dcimanager6.IPAssignRequest{
		"no server":      {PoolID: 1},
		"no pool":        {ServerID: 1},
		"bad address":    {ServerID: 1, Address: "192.0.2.x"},
		"bad domain":     {ServerID: 1, PoolID: 1, Domain: "bad domain"},
		"note with CRLF": {ServerID: 1, PoolID: 1, Note: "a\r\nb"},
		"negative pool":  {ServerID: 1, PoolID: -1},
	} {
		_, err := c.IPs.Assign(ctx, req)
		require.ErrorIs(t, err, dcimanager6.ErrInvalidArgument, name)
	}
	require.ErrorIs(t, c.IPs.Unassign(ctx, 0), dcimanager6.ErrInvalidArgument)
	assert.Empty(t, f.Requests(), "nothing was sent")
}

// TestIPAssignConcurrent: many clients asking one pool at once never get
// the same address; the pool's ten addresses go out once each (one is
// the seeded owner's), the rest are conflicts.
func TestIPAssignConcurrent(t *testing.T) {
	t.Parallel()
	f, c := newEnv(t, nil)
	ctx := testCtx(t)
	const n = 24
	var (
		mu   sync.Mutex
		got  = map[string]int64{}
		errs []error
		wg   sync.WaitGroup
	)
	for i := range n {
		wg.Go(func() {
			ip, err := c.IPs.Assign(ctx, dcimanager6.IPAssignRequest{ServerID: int64(1 + i%3), PoolID: 1})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			if prev, dup := got[ip.Name]; dup {
				t.Errorf("%s handed out twice (servers %d and %d)", ip.Name, prev, ip.ServerID)
			}
			got[ip.Name] = ip.ServerID
		})
	}
	wg.Wait()
	assert.Len(t, got, 9, "ten addresses, one already on server 4")
	assert.Len(t, errs, n-9)
	for _, err := range errs {
		assert.True(t, dcimanager6.IsConflict(err), "%v", err)
	}
	seen := map[string]bool{}
	for _, x := range f.IPs() {
		if x.PoolID != 1 {
			continue
		}
		assert.Equal(t, "allocated", x.Status)
		assert.False(t, seen[x.Name])
		seen[x.Name] = true
		if sid, ok := got[x.Name]; ok {
			assert.Equal(t, sid, x.ServerID)
		}
	}
}

// TestIPAssignLostAnswer: the panel binds the address but the answer is
// lost; Assign reports that it may have happened (it is not repeated) and
// FindAssignment finds it by its note.
func TestIPAssignLostAnswer(t *testing.T) {
	t.Parallel()
	f, c := newEnv(t, nil)
	ctx := testCtx(t)
	f.Inject(dcimanager6test.Fault{Match: "POST /ip/v3/ip", Kind: dcimanager6test.FaultDropAfter})
	req := dcimanager6.IPAssignRequest{ServerID: 3, PoolID: 1, Note: "op-lost"}
	_, err := c.IPs.Assign(ctx, req)
	var te *dcimanager6.TransportError
	require.True(t, errors.As(err, &te), "%v", err)
	assert.True(t, te.MayHaveHappened)
	ip, err := c.IPs.FindAssignment(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, int64(3), ip.ServerID)
	n := 0
	for _, x := range f.IPs() {
		if x.ServerID == 3 {
			n++
		}
	}
	assert.Equal(t, 1, n, "sent once, bound once")
}

func TestUserSetPassword(t *testing.T) {
	t.Parallel()
	f, c := newEnv(t, nil)
	ctx := testCtx(t)
	require.NoError(t, c.Users.SetPassword(ctx, 2, "Changed-pw-1"))
	assert.Equal(t, "Changed-pw-1", f.Users()[1].Password)

	uc, err := dcimanager6.NewClient(f.URL(), dcimanager6.WithCredentials("client1@example.com", "Changed-pw-1"))
	require.NoError(t, err)
	require.NoError(t, uc.Login(ctx))
	old, err := dcimanager6.NewClient(f.URL(), dcimanager6.WithCredentials("client1@example.com", "client1-password"),
		dcimanager6.WithRetry(0, time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	assert.True(t, dcimanager6.IsUnauthorized(old.Login(ctx)))

	assert.True(t, dcimanager6.IsNotFound(c.Users.SetPassword(ctx, 99, "x")))
	require.ErrorIs(t, c.Users.SetPassword(ctx, 2, ""), dcimanager6.ErrInvalidArgument)
	require.ErrorIs(t, c.Users.SetPassword(ctx, 0, "x"), dcimanager6.ErrInvalidArgument)

	n := 0
	for _, r := range f.Requests() {
		if strings.HasSuffix(r.Path, "/password") {
			n++
			assert.Contains(t, []string{"/api/auth/v4/user/2/password", "/api/auth/v4/user/99/password"}, r.Path)
			assert.Empty(t, r.RawQuery, "the password travels only in the body")
		}
	}
	assert.Equal(t, 2, n)
}
