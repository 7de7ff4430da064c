package testctx_test

import (
	"context"
	"testing"
	"time"

	"github.com/ispkit/ispkit/internal/testctx"
)

type key struct{}

func TestExpiring(t *testing.T) {
	t.Parallel()
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c := testctx.NewExpiring(parent, at)
	cancel()
	if c.Err() != nil {
		t.Fatalf("Err before Expire = %v; the parent's cancellation must not end it", c.Err())
	}
	select {
	case <-c.Done():
		t.Fatal("Done closed before Expire")
	default:
	}
	if d, ok := c.Deadline(); !ok || !d.Equal(at) {
		t.Errorf("Deadline = %v, %v; want %v", d, ok, at)
	}
	if c.Value(key{}) != "v" {
		t.Error("values do not come from the parent")
	}
	c.Expire()
	c.Expire()
	<-c.Done()
	if c.Err() != context.DeadlineExceeded {
		t.Errorf("Err after Expire = %v", c.Err())
	}
	if _, ok := testctx.NewExpiring(context.Background(), time.Time{}).Deadline(); ok {
		t.Error("a zero deadline must report the parent's (none)")
	}
}
