package dcimanager6_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/dcimanager6"
	"github.com/ispkit/ispkit/dcimanager6/dcimanager6test"
)

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }

func TestTLSOptions(t *testing.T) {
	t.Parallel()
	f := dcimanager6test.NewServer(dcimanager6test.WithTLS())
	f.Strict(t)
	t.Cleanup(f.Close)
	ctx := testCtx(t)
	creds := dcimanager6.WithCredentials(dcimanager6test.AdminEmail, dcimanager6test.AdminPassword)
	sum := sha256.Sum256(f.Certificate().Raw)
	for name, opt := range map[string]dcimanager6.Option{
		"root CAs": dcimanager6.WithRootCAs(f.CertPool()),
		"pinned":   dcimanager6.WithPinnedCertificate(hex.EncodeToString(sum[:])),
		"insecure": dcimanager6.WithInsecureSkipVerify(),
	} {
		c, err := dcimanager6.NewClient(f.URL(), creds, opt)
		require.NoError(t, err, name)
		_, _, err = c.Locations.List(ctx, nil)
		require.NoError(t, err, name)
	}
	c, err := dcimanager6.NewClient(f.URL(), creds)
	require.NoError(t, err)
	_, _, err = c.Locations.List(ctx, nil)
	var te *dcimanager6.TransportError
	require.ErrorAs(t, err, &te, "verification is on by default")
	assert.Equal(t, 1, te.Attempts, "certificate errors are not retried")
	c, err = dcimanager6.NewClient(f.URL(), creds, dcimanager6.WithPinnedCertificate(hex.EncodeToString(make([]byte, 32))),
		dcimanager6.WithRetry(0, time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	_, _, err = c.Locations.List(ctx, nil)
	require.Error(t, err, "wrong pin")
}
