package dci6_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/dcimanager6"
	"github.com/ispkit/ispkit/dcimanager6/dcimanager6test"
	"github.com/ispkit/ispkit/internal/wait"
	"github.com/ispkit/ispkit/provision/dci6"
)

// Seeded data of the fake (see dcimanager6test's seed): location 1 holds
// servers 1-7, location 2 servers 8-9; user 1 is the admin, user 2
// client1@example.com.
const (
	confE2146 = "E-2146G-64Gb-1920SSD"
	confI9    = "i9-9900K-64Gb-2x1024NVMe"
)

type env struct {
	fake *dcimanager6test.Server
	c    *dcimanager6.Client
	b    *dci6.Backend
}

// newEnv starts a fake (install and power durations as given) and a
// backend for location 1 with users under example.com.
func newEnv(t *testing.T, install, power time.Duration, opts ...dci6.Option) env {
	t.Helper()
	return newEnvOn(t, nil, install, power, opts...)
}

// newEnvOn is newEnv with a fake whose operations (and tokens) follow
// clock instead of the wall clock (nil: the wall clock), so that a test
// moves them on by hand.
func newEnvOn(t *testing.T, clock *wait.Fake, install, power time.Duration, opts ...dci6.Option) env {
	t.Helper()
	fopts := []dcimanager6test.Option{dcimanager6test.WithDurations(install, power)}
	if clock != nil {
		fopts = append(fopts, dcimanager6test.WithClock(clock.Now))
	}
	f := dcimanager6test.NewServer(fopts...)
	f.Strict(t)
	t.Cleanup(f.Close)
	c, err := dcimanager6.NewClient(f.URL(),
		dcimanager6.WithCredentials(dcimanager6test.AdminEmail, dcimanager6test.AdminPassword),
		dcimanager6.WithRetry(3, time.Millisecond, 5*time.Millisecond),
		dcimanager6.WithPollInterval(time.Millisecond, 5*time.Millisecond),
		dcimanager6.WithTimeout(5*time.Second))
	require.NoError(t, err)
	opts = append([]dci6.Option{dci6.Location(1), dci6.AdminEmail(dcimanager6test.AdminEmail), dci6.UserDomain("example.com")}, opts...)
	b, err := dci6.New(c, opts...)
	require.NoError(t, err)
	return env{fake: f, c: c, b: b}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func sid(n int64) string { return strconv.FormatInt(n, 10) }

// newClock returns a fake clock for newEnvOn.
func newClock() *wait.Fake { return wait.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) }

func machine(t *testing.T, f *dcimanager6test.Server, id int64) dcimanager6test.Machine {
	t.Helper()
	m, ok := f.Machine(id)
	require.True(t, ok, "machine %d", id)
	return m
}
