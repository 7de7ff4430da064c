package dcimanager5

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
)

func TestParsePercent(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{
		"":               -1,
		"45":             45,
		"45%":            45,
		"Installing 45%": 45,
		"Installing ISPsystem__Debian-12-x86_64: 7%": 7,
		"Stage 2 of 5: 40 %":                         40,
		"copying 12,5% then 60%":                     60,
		"Installing":                                 -1,
		"Installing Debian 12":                       -1,
		"250%":                                       100,
		"-3":                                         -1,
	} {
		assert.Equal(t, want, parsePercent(in), "%q", in)
	}
	assert.Equal(t, "Installing 45%", hintText("  <b>Installing</b>\n 45%<br/>"))
}

// TestInstallProgressOverHTTP: the hint is absent (-1) without an
// install, rises while one runs and is absent again once it ended.
func TestInstallProgressOverHTTP(t *testing.T) {
	t.Parallel()
	// The fake's time moves only when the test says.
	clock := dcimanager5test.NewManualClock()
	srv := dcimanager5test.NewServer(dcimanager5test.WithInstallDuration(10*time.Minute),
		dcimanager5test.WithPowerDuration(time.Millisecond), dcimanager5test.WithClock(clock))
	t.Cleanup(srv.Close)
	user, pass := srv.Admin()
	c, err := NewClient(srv.URL(), WithCredentials(user, pass), WithRetry(3, time.Millisecond, 5*time.Millisecond))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	var id int64
	for _, st := range srv.Servers() {
		if st.Name == "srv-02" {
			id = st.ID
		}
	}
	require.NotZero(t, id)

	p, err := c.Servers.InstallProgress(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, InstallProgress{Percent: -1}, p, "no install runs")

	require.NoError(t, c.Servers.Install(ctx, id, InstallRequest{Template: "ISPsystem__CentOS-7-amd64", Password: "pw-1"}))
	p1, err := c.Servers.InstallProgress(ctx, id)
	require.NoError(t, err)
	require.GreaterOrEqual(t, p1.Percent, 0, "%+v", p1)
	assert.Contains(t, p1.Text, "ISPsystem__CentOS-7-amd64")
	// Halfway through the install the hint has moved on.
	clock.Advance(5 * time.Minute)
	p2, err := c.Servers.InstallProgress(ctx, id)
	require.NoError(t, err)
	assert.Greater(t, p2.Percent, p1.Percent, "progress rose above %+v", p1)
	assert.Less(t, p2.Percent, 100)

	clock.Advance(5 * time.Minute)
	st, _ := srv.Server(id)
	require.False(t, st.InstallInProgress)
	p, err = c.Servers.InstallProgress(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, -1, p.Percent, "the install ended")
	assert.Empty(t, p.Text)

	_, err = c.Servers.InstallProgress(ctx, 9999)
	assert.True(t, IsNotFound(err), "%v", err)
	_, err = c.Servers.InstallProgress(ctx, 0)
	assert.Error(t, err)
}
