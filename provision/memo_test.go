package provision_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/internal/wait"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/fakebackend"
)

// countDC counts the fake's calls of one method through its BeforeCall
// hook.
func countDC(dc *fakebackend.DC, method string) *atomic.Int64 {
	var n atomic.Int64
	dc.BeforeCall = func(m, _ string) error {
		if m == method {
			n.Add(1)
		}
		return nil
	}
	return &n
}

// A template the panel was seen to have is not asked for again within
// the memo's time; one it lacks is asked at every order; past the memo's
// time a found one is asked again.
func TestOSTemplateCheckedOncePerBurst(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 6)
	v.dc.SetOSTemplates(osTemplate)
	checks := countDC(v.dc, "HasOSTemplate")
	clk := wait.NewFake(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	v.dc.Clock = clk.Now
	v.dc.PowerDelay, v.dc.InstallDelay = 0, 0 // no pause: the clock moves only below
	e := v.engine("w", func(c *provision.Config) { c.Clock = clk })
	ctx := t.Context()
	open := func(id int) error {
		_, err := e.Open(ctx, provision.OpenRequest{ServiceID: strconv.Itoa(id), TariffID: tariffDedic, Owner: "ann", Password: "Secret-pw-1"})
		return err
	}
	require.NoError(t, open(1))
	require.NoError(t, open(2))
	assert.Equal(t, int64(1), checks.Load(), "two orders within the memo's time: one check")

	// Past the memo's time the template is asked again; removed from the
	// panel it is missing, and asked at every order.
	clk.Advance(31 * time.Minute)
	v.dc.SetOSTemplates("ISPsystem__Other-1")
	for id := range 2 {
		var ae *provision.ArgumentError
		require.ErrorAs(t, open(3+id), &ae)
	}
	assert.Equal(t, int64(3), checks.Load(), "a missing template is asked at every order")
}

// notedPool counts FindByNote calls.
type notedPool struct {
	*fakebackend.Pool
	finds atomic.Int64
	lose  atomic.Bool
}

func (p *notedPool) FindByNote(ctx context.Context, note string) ([]string, error) {
	p.finds.Add(1)
	return p.Pool.FindByNote(ctx, note)
}

// Allocate loses the answer of the first allocation when lose is set
// (the pool made it).
func (p *notedPool) Allocate(ctx context.Context, family, group, domain, note string) (string, error) {
	ip, err := p.Pool.Allocate(ctx, family, group, domain, note)
	if err == nil && p.lose.CompareAndSwap(true, false) {
		return "", context.DeadlineExceeded
	}
	return ip, err
}

// The first allocation of an operation's first claim does not look for an
// earlier one: only a claim of the operation can allocate with its note.
// An allocation retried after a lost answer looks first, and finds it.
func TestAllocationLooksForAnEarlierOneOnlyWhenThereMayBeOne(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 3)
	p := &notedPool{Pool: v.pool}
	e := v.engine("w", func(c *provision.Config) { c.IPPools = map[string]provision.IPPool{"dc1": p} })
	ctx := t.Context()
	_, err := e.Open(ctx, provision.OpenRequest{ServiceID: "1", TariffID: tariffDedic, Owner: "ann", Password: "Secret-pw-1"})
	require.NoError(t, err)
	assert.Zero(t, p.finds.Load(), "first claim, first allocation: nothing to find")

	// The public address's answer is lost once after the pool made it.
	p.lose.Store(true)
	_, err = e.Open(ctx, provision.OpenRequest{ServiceID: "2", TariffID: tariffDedic, Owner: "bob", Password: "Secret-pw-1"})
	require.NoError(t, err)
	assert.Equal(t, int64(1), p.finds.Load(), "the retried allocation looks for the lost one")
	svc, err := v.store.GetService(ctx, "2")
	require.NoError(t, err)
	assert.Len(t, v.pool.Used()["public"], 2, "the lost allocation was found, not made twice")
	assert.Contains(t, v.pool.Used()["public"], svc.Properties[provision.PropIP])
}
