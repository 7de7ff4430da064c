package dci5_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/dci5"
)

// failHints fails every progress-hint request in transport.
type failHints struct{ next http.RoundTripper }

func (f failHints) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		_ = r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	if bytes.Contains(body, []byte("hint_field")) || bytes.Contains([]byte(r.URL.RawQuery), []byte("hint_field")) {
		return nil, errors.New("hint service down")
	}
	return f.next.RoundTrip(r)
}

// TestInstallStatusPercent: over HTTP against the fake, Percent is -1
// without an install, rises while one runs, is -1 again (not running)
// after it, and a failing hint call leaves Percent at -1 without failing
// InstallStatus.
func TestInstallStatusPercent(t *testing.T) {
	t.Parallel()
	// The fake's time moves only when the test says.
	clock := dcimanager5test.NewManualClock()
	srv := dcimanager5test.NewServer(dcimanager5test.WithInstallDuration(10*time.Minute),
		dcimanager5test.WithPowerDuration(time.Millisecond), dcimanager5test.WithClock(clock))
	srv.Strict(t)
	t.Cleanup(srv.Close)
	admin, pw := srv.Admin()
	c, err := dcimanager5.NewClient(srv.URL(), dcimanager5.WithCredentials(admin, pw))
	require.NoError(t, err)
	b := dci5.New(c, admin)
	bad, err := dcimanager5.NewClient(srv.URL(), dcimanager5.WithCredentials(admin, pw),
		dcimanager5.WithTransport(failHints{next: http.DefaultTransport}),
		dcimanager5.WithRetry(1, time.Millisecond, 2*time.Millisecond))
	require.NoError(t, err)
	bb := dci5.New(bad, admin)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)

	var id string
	for _, s := range srv.Servers() {
		if s.Name == "srv-02" {
			id = strconv.FormatInt(s.ID, 10)
		}
	}
	require.NotEmpty(t, id)

	st, err := b.InstallStatus(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, provision.InstallStatus{Percent: -1}, st, "no install runs")

	require.NoError(t, b.Install(ctx, id, provision.InstallSpec{Template: "ISPsystem__Debian-12-x86_64", Password: "Pw-1-secret"}))
	st1, err := b.InstallStatus(ctx, id)
	require.NoError(t, err)
	require.True(t, st1.Running)
	require.GreaterOrEqual(t, st1.Percent, 0, "%+v", st1)
	assert.Contains(t, st1.Message, "%")

	failing, err := bb.InstallStatus(ctx, id)
	require.NoError(t, err, "a failing hint does not fail InstallStatus")
	assert.True(t, failing.Running)
	assert.Equal(t, -1, failing.Percent)

	// Halfway through the install the reported percentage has moved on.
	clock.Advance(5 * time.Minute)
	st2, err := b.InstallStatus(ctx, id)
	require.NoError(t, err)
	assert.True(t, st2.Running)
	assert.Greater(t, st2.Percent, st1.Percent, "percent rose above %+v", st1)
	assert.Less(t, st2.Percent, 100)

	clock.Advance(5 * time.Minute)
	st, err = b.InstallStatus(ctx, id)
	require.NoError(t, err)
	assert.False(t, st.Running, "the install ended")
	assert.False(t, st.Failed)
	assert.Equal(t, -1, st.Percent)
}
